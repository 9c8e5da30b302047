"""Progress reporting shared by the CLI: ``callback(step, done, total)`` shown as rich bars."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

# progress(step, done, total): ``step`` names the work (e.g. "detect cam0"), ``done`` of ``total``
ProgressCallback = Callable[[str, int, int], None]


@contextlib.contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A progress callback drawing one rich bar per step name (on stderr)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    from rich.console import Console

    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        yield update
