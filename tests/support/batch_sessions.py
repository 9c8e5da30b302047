"""Tiny synthetic sessions for the batch tests: 2 cameras, 12 frames of 320 x 240, the true
points of frame 0 as a person's clicks, and copies of them laid out as a lab's folders."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from pose3d.pipeline.batch.engine import Snapshot
from pose3d.pipeline.batch.plan import Task
from pose3d.pipeline.batch.task import Outcome, run_job
from pose3d.pipeline.compare_truth import seed_from_truth
from pose3d.pipeline.folder import SessionFolder
from pose3d.synthetic import write_sample_session


def tiny_session(root: Path, n_frames: int = 12, seed: int = 1) -> Path:
    write_sample_session(
        root,
        n_cameras=2,
        n_frames=n_frames,
        n_board_frames=24,
        image_size=(320, 240),
        seed=seed,
        image_folders=False,
    )
    with SessionFolder(root) as folder:
        seed_from_truth(folder, [0])
    return root


def lab(template: Path, folder: Path, names: Sequence[str]) -> Path:
    """Copies of ``template`` at ``folder/NAME`` for each name."""
    for name in names:
        shutil.copytree(template, folder / name)
    return folder


def run_in_order(graph: Sequence[Task]) -> list[Outcome]:
    """The graph's tasks run one after another in this process (they are in an order where a
    task comes after those it follows): what a Dask worker would compute, without the cluster."""
    outcomes: list[Outcome] = []
    for task in graph:
        outcomes.append(run_job(task.job, *(outcomes[i] for i in task.after)))
    return outcomes


def by_session(outcomes: Sequence[Outcome]) -> dict[tuple[str, str], Outcome]:
    return {(o.name, o.step): o for o in outcomes}


def statuses(snapshot: Snapshot) -> list[str]:
    return [s if isinstance(s, str) else s.status for s in snapshot]
