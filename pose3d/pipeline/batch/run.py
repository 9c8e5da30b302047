"""A whole batch: find the sessions, build the graph, run it on Dask, write batch_report.json.

>>> result = run_batch("sessions/", steps=["track", "triangulate"])   # doctest: +SKIP
>>> result.failed                                                       # doctest: +SKIP
[]
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pose3d.pipeline.batch.engine import EngineSettings, Snapshot, connect, run_graph
from pose3d.pipeline.batch.plan import Planned, Task, dry_run, find_batch, tasks
from pose3d.pipeline.batch.task import Outcome

REPORT = "batch_report.json"


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: every task's outcome, where its report is, what it ran on."""

    outcomes: list[Outcome]
    report: Path
    engine: str

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)


def plan_batch(
    target: str | os.PathLike[str],
    steps: Sequence[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    force: Sequence[str] = (),
) -> list[Planned]:
    """``--dry-run``: each task and whether it would run now, and why."""
    batch = find_batch(target)
    return dry_run(tasks(batch, steps, overrides, force))


def run_batch(
    target: str | os.PathLike[str],
    steps: Sequence[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    force: Sequence[str] = (),
    engine: EngineSettings | None = None,
    report: str | os.PathLike[str] | None = None,
    on_start: Callable[[str, list[Task]], None] | None = None,
    on_update: Callable[[Snapshot], None] | None = None,
) -> BatchResult:
    """Run ``steps`` on the sessions of ``target`` (a folder or a manifest: see
    pose3d.pipeline.batch.plan) and write the report (default: ``batch_report.json`` in the
    batch's folder). ``on_start(engine, graph)`` is called once the cluster is up."""
    batch = find_batch(target)
    graph = tasks(batch, steps, overrides, force)
    engine = engine or EngineSettings()
    path = Path(report) if report is not None else batch.base / REPORT
    started = _now()
    gpu = _gpu_steps(graph)
    with connect(engine, batch.base) as (client, said, has_gpus):
        if on_start is not None:
            on_start(said, graph)
        outcomes = run_graph(client, graph, on_update, gpu_steps=gpu if has_gpus else ())
    save_report(path, outcomes, {"started": started, "finished": _now(), "engine": said})
    return BatchResult(outcomes, path, said)


def save_report(path: Path, outcomes: Sequence[Outcome], meta: Mapping[str, Any]) -> None:
    """batch_report.json: when, on what, the counts and every task's outcome (atomically)."""
    import pose3d
    from pose3d.io.atomic import atomic_write_text

    data = {
        "pose3d": pose3d.__version__,
        **meta,
        "counts": dict(Counter(o.status for o in outcomes)),
        "tasks": [asdict(o) for o in outcomes],
    }
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def _gpu_steps(graph: Sequence[Task]) -> list[str]:
    """["track"] when a session tracks with a learned tracker (named, or the default here): its
    tasks then go to the workers with a GPU, where the cluster has such workers."""
    from pose3d.tracking.registry import LEARNED, select

    names = {t.job.params.get("tracker") for t in graph if t.job.step == "track"}
    if None in names:
        names = (names - {None}) | {select(None).name}
    return ["track"] if names & set(LEARNED) else []


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
