"""Which sessions a batch covers and the tasks it runs on them.

A batch is given a folder (every folder under it with a session.toml is a session) or a
manifest, a TOML file that lists the sessions with their own parameters and, for a session
filmed on a rig calibrated once a day, the rig's calibration session::

    # pose3d batch manifest; paths are relative to this file
    steps = ["calibrate", "track", "triangulate", "export"]   # optional (--steps wins)

    [defaults.triangulate]            # any step's parameters, for every session
    method = "optim"
    [defaults.export]
    formats = ["movement", "anipose-csv"]

    [[sessions]]
    path = "2026-12-01/mouse1"
    calibration_from = "rigs/2026-12-01"   # its calibrate step copies that session's calibration
    [sessions.triangulate]                 # this session's own parameters
    method = "ransac"

A rig session named by ``calibration_from`` is calibrated once, before the sessions that take
its calibration, whether or not it is listed itself.

The tasks form a graph: a session's steps run one at a time in the order calibrate, track,
triangulate, export, view (each holds the session's lock), and a session's calibrate after its
rig's; a step's inputs change only when a step whose outputs it reads (``READS``) runs.
:func:`dry_run` says, without running anything, which tasks would run and why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pose3d.errors import Pose3dError
from pose3d.pipeline.batch.params import PARAMS, check_steps, step_params
from pose3d.pipeline.batch.state import STATE_DIR
from pose3d.pipeline.batch.steps import Job

SESSION_FILE = "session.toml"
_SKIP = {STATE_DIR, "exports", "videos", "calibration", "truth", "__pycache__"}


# the steps whose outputs a step reads: only a rerun of those can change its inputs
READS: dict[str, tuple[str, ...]] = {
    "calibrate": (),
    "track": ("calibrate",),
    "triangulate": ("calibrate", "track"),
    "export": ("calibrate", "track", "triangulate"),
    "view": ("calibrate", "track", "triangulate"),
}


@dataclass(frozen=True)
class BatchSession:
    """A session of the batch and what the manifest says of it."""

    root: Path
    name: str  # its path under the batch's folder, as the report shows it
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> its own table
    calibration_from: Path | None = None


@dataclass(frozen=True)
class Batch:
    """What ``pose3d batch`` was asked to do."""

    base: Path  # the folder the sessions' names are relative to (batch_report.json goes here)
    sessions: tuple[BatchSession, ...]
    steps: tuple[str, ...] | None  # the manifest's, when it names them
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A node of the batch's graph: a job, the tasks (indices) it waits for, and those of them
    whose outputs it reads (a rerun of those may change its inputs)."""

    job: Job
    after: tuple[int, ...]
    reads: tuple[int, ...] = ()


def find_batch(target: str | os.PathLike[str]) -> Batch:
    """The sessions under folder ``target``, or those its manifest (a .toml file) lists."""
    path = Path(target).absolute()
    if path.is_dir():
        if (path / SESSION_FILE).is_file():
            return Batch(path, (BatchSession(path, path.name),), None)
        return Batch(
            path, tuple(BatchSession(r, str(r.relative_to(path))) for r in _walk(path)), None
        )
    if path.is_file() and path.name != SESSION_FILE:
        return _read_manifest(path)
    if path.is_file():
        return Batch(path.parent, (BatchSession(path.parent, path.parent.name),), None)
    raise Pose3dError(
        f"{path} does not exist: give a folder of session folders or a manifest (.toml)"
    )


def _walk(root: Path) -> list[Path]:
    """Every folder under ``root`` holding a session.toml, sorted; symbolic links to folders
    are not followed, and a session's own subfolders are not searched."""
    found = []
    for folder, subfolders, files in os.walk(root):
        if SESSION_FILE in files:
            found.append(Path(folder))
            subfolders.clear()
            continue
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIP and not d.startswith("."))
    if not found:
        raise Pose3dError(
            f"no session under {root}: a session is a folder with a session.toml (pose3d init)"
        )
    return sorted(found)


def _read_manifest(path: Path) -> Batch:
    from pose3d.io.toml_file import read_toml

    data = read_toml(path, "batch manifest")
    where = f"batch manifest {path}"
    unknown = sorted(set(data) - {"steps", "defaults", "sessions"})
    if unknown:
        raise Pose3dError(f"{where}: unknown key {unknown[0]!r}; a manifest has steps, "
                          "[defaults.STEP] tables and [[sessions]]")  # fmt: skip
    steps = check_steps(data["steps"], where) if "steps" in data else None
    defaults = _step_tables(data.get("defaults", {}), f"{where}: [defaults]")
    entries = data.get("sessions")
    if not isinstance(entries, list) or not entries:
        raise Pose3dError(f"{where}: no [[sessions]]; list each session as [[sessions]] "
                          'path = "FOLDER"')  # fmt: skip
    base = path.parent
    sessions = []
    for i, entry in enumerate(entries, 1):
        at = f"{where}: session {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise Pose3dError(f'{at}: give its folder as path = "FOLDER"')
        root = _session_folder(base, entry["path"], at)
        rig = entry.get("calibration_from")
        if rig is not None and not isinstance(rig, str):
            raise Pose3dError(f'{at}: calibration_from must be a folder, e.g. "rigs/day1"')
        tables = {k: v for k, v in entry.items() if k not in ("path", "calibration_from")}
        sessions.append(
            BatchSession(
                root,
                entry["path"],
                _step_tables(tables, at),
                None if rig is None else _session_folder(base, rig, f"{at}: calibration_from"),
            )
        )
    names = [s.root.resolve() for s in sessions]
    twice = next((s for s, n in zip(sessions, names, strict=True) if names.count(n) > 1), None)
    if twice is not None:
        raise Pose3dError(f"{where}: session {twice.name} is listed twice")
    return Batch(base, tuple(sessions), steps, defaults)


def _session_folder(base: Path, text: str, where: str) -> Path:
    root = (base / text).resolve() if not Path(text).is_absolute() else Path(text)
    if not (root / SESSION_FILE).is_file():
        raise Pose3dError(f"{where}: {root} is not a session folder (it has no session.toml)")
    return root


def _step_tables(tables: object, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(tables, dict):
        raise Pose3dError(f"{where}: must be tables named after steps, e.g. [defaults.triangulate]")
    out = {}
    for step, table in tables.items():
        if step not in PARAMS or not isinstance(table, dict):
            raise Pose3dError(f"{where}: unknown key {step!r}; step tables are {', '.join(PARAMS)}")
        step_params(step, table, where=where)  # checked now, merged per session later
        out[step] = table
    return out


def tasks(
    batch: Batch,
    steps: Sequence[str] | None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    force: Sequence[str] = (),
) -> list[Task]:
    """The batch's graph: ``steps`` (default: the manifest's, else all but view) on every
    session; parameters from the defaults, the manifest, then ``overrides`` (the CLI's);
    ``force``: steps to run even when up to date (and, since their outputs change, what
    follows them)."""
    chosen = check_steps(
        tuple(steps) if steps else batch.steps or ("calibrate", "track", "triangulate", "export"),
        "--steps",
    )
    forced = set(check_steps(tuple(force), "--force")) if force else set()
    for step, table in (overrides or {}).items():
        if step not in PARAMS:
            raise Pose3dError(f"--set {step}.…: no step {step!r}; steps are {', '.join(PARAMS)}")
        step_params(step, table, where="--set")
    graph: list[Task] = []
    rig_calibrations: dict[Path, int] = {}

    def params(step: str, own: Mapping[str, dict[str, Any]], where: str) -> dict[str, Any]:
        return step_params(
            step, batch.defaults.get(step, {}), own.get(step, {}), (overrides or {}).get(step, {}),
            where=where,
        )  # fmt: skip

    def rig_task(rig: Path) -> int:
        key = rig.resolve()
        if key not in rig_calibrations:
            listed = next((s for s in batch.sessions if s.root.resolve() == key), None)
            own = listed.params if listed else {}
            name = listed.name if listed else _name(batch.base, rig)
            job = Job(
                str(rig), name, "calibrate", params("calibrate", own, name), "calibrate" in forced
            )
            rig_calibrations[key] = len(graph)
            graph.append(Task(job, ()))
        return rig_calibrations[key]

    for session in batch.sessions:
        if "calibrate" in chosen and session.calibration_from is not None:
            rig_task(session.calibration_from)
    for session in batch.sessions:
        made: dict[str, int] = {}  # step -> its task, in this session
        previous: int | None = None
        for step in chosen:
            # one task of a session at a time (each holds its lock and records its outcome in
            # its steps.json), in the order of STEP_ORDER
            after: tuple[int, ...] = () if previous is None else (previous,)
            reads = tuple(made[s] for s in READS[step] if s in made)
            if step == "calibrate" and session.root.resolve() in rig_calibrations:
                made[step] = previous = rig_calibrations[session.root.resolve()]
                continue
            rig = session.calibration_from if step == "calibrate" else None
            if rig is not None:
                after = reads = (rig_task(rig),)
            job = Job(
                str(session.root),
                session.name,
                step,
                params(step, session.params, session.name),
                step in forced,
                None if rig is None else str(rig),
            )
            made[step] = previous = len(graph)
            graph.append(Task(job, after, reads))
    return graph


def _name(base: Path, root: Path) -> str:
    try:
        return str(root.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(root)


@dataclass(frozen=True)
class Planned:
    """What a task would do now, and why."""

    task: Task
    runs: bool
    why: str


def dry_run(graph: Sequence[Task]) -> list[Planned]:
    """Each task's fate if the batch ran now (reads the sessions, writes nothing): it runs when
    it was never run, failed last time, is forced, its outputs are gone, its fingerprint
    changed (the report names what changed) or a task it follows runs."""
    import pose3d
    from pose3d.pipeline.batch.state import Digests, SessionState
    from pose3d.pipeline.batch.steps import FACTS, fingerprint, key_of, outputs
    from pose3d.pipeline.folder import SessionFolder

    planned: list[Planned] = []
    for task in graph:
        job = task.job
        upstream = next((planned[i] for i in task.reads if planned[i].runs), None)
        try:
            folder = SessionFolder(job.root, write=False)
            state = SessionState(job.root)
            facts = fingerprint(folder, job, Digests(state))
            last = state.records().get(job.step)
            missing = [p for p in outputs(folder, job) if not p.exists()]
        except Pose3dError as error:
            planned.append(Planned(task, True, f"will fail now: {error}"))
            continue
        if job.force:
            why = "forced"
        elif last is None:
            why = "never run"
        elif last.status != "done":
            why = f"failed last time: {last.summary}"
        elif missing:
            why = f"{missing[0].name} is missing"
        elif last.key != key_of(facts, pose3d.__version__):
            changed = [FACTS.get(k, k) for k in facts if facts[k] != last.fingerprint.get(k)]
            why = "changed: " + (", ".join(changed) if changed else f"pose3d {last.version} -> "
                                 f"{pose3d.__version__}")  # fmt: skip
        elif upstream is not None:
            why = f"after {upstream.task.job.step}, if what it writes changes"
        else:
            planned.append(Planned(task, False, "up to date"))
            continue
        planned.append(Planned(task, True, why))
    return planned
