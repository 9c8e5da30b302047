"""The batch steps: for each, what it reads (its fingerprint: the contents of its inputs and its
parameters, hashed into the step's key), what it writes and how it runs on one session.

Each step calls the session verb the single-session command calls (``pose3d calibrate``,
``track``, ``triangulate``, ``export``, ``view --sheet``) on a SessionFolder opened, and
locked, by the task. What a step's fingerprint holds is exactly what can change its result:

- calibrate: the board, the calibration media (contents), calibration/intrinsics.toml; or,
  for a session that takes its calibration from a rig session, that session's calibration.toml
- track: the videos (contents, offsets), the keypoints and individuals, the points a person
  placed or imported (not the tracked ones: they are what tracking writes), the calibration (the
  multi-view review flags) and the tracker with its weights
- triangulate: labels.nc and its edit journal, the calibration, the skeleton's edges, the fps
- export, view: what they read (poses3d.nc, labels.nc, the calibration, the videos)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.pipeline.batch.state import Digests
from pose3d.pipeline.folder import SessionFolder
from pose3d.progress import ProgressCallback

if TYPE_CHECKING:
    import xarray as xr

EXPORTS = "exports"
SHEET = "sheet.png"
_FILE_SUFFIX = {"anipose-csv": ".csv", "dlc-h5": ".h5"}


@dataclass(frozen=True)
class Job:
    """One step of one session: everything a worker needs to run it (picklable)."""

    root: str  # the session folder
    name: str  # the session as the report names it (its path under the batch root)
    step: str
    params: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    calibration_from: str | None = None  # calibrate: the rig session whose calibration it takes


def fingerprint(folder: SessionFolder, job: Job, digests: Digests) -> dict[str, Any]:
    """What ``job``'s result depends on, as JSON-able values (file contents as digests)."""
    paths = folder.paths
    session = folder.session
    if job.step == "calibrate" and job.calibration_from is not None:
        rig = SessionFolder(job.calibration_from, write=False).paths
        facts: dict[str, Any] = {
            "from": str(rig.root.resolve()),
            "calibration": digests.of(rig.calibration),
            "report": digests.of(rig.report),
        }
    elif job.step == "calibrate":
        facts = {
            "board": repr(session.board),
            "board_file": digests.of(paths.board),
            "media": {n: digests.of(p) for n, p in session.calibration_media_paths().items()},
            "intrinsics": digests.of(paths.intrinsics),
        }
    elif job.step == "track":
        facts = {
            **_videos(folder, digests),
            "keypoints": list(session.skeleton.keypoints),
            "individuals": list(session.individuals),
            "given_points": given_points(folder.labels()) if folder.has_labels() else "missing",
            "calibration": digests.of(paths.calibration),
            "tracker": _tracker_fact(job.params.get("tracker"), digests),
        }
        if job.params.get("second_opinion") is not None:
            facts["second_opinion"] = _tracker_fact(job.params["second_opinion"], digests)
    elif job.step == "triangulate":
        facts = {
            **_labels(folder, digests),
            "calibration": digests.of(paths.calibration),
            "edges": [list(e) for e in session.skeleton.edges],
            "fps": session.fps,
        }
    elif job.step in ("export", "view"):
        facts = {
            **_labels(folder, digests),
            "poses": digests.of(paths.poses),
            "calibration": digests.of(paths.calibration),
            "session": [session.name, session.fps, list(session.individuals)],
        }
        if job.step == "view":
            facts.update(_videos(folder, digests))
    else:
        raise Pose3dError(f"unknown step {job.step!r}")
    return {"params": _jsonable(job.params), **facts}


# what each fact is, for "changed: ..." in a dry run
FACTS = {
    "params": "parameters",
    "from": "rig session",
    "calibration": "calibration.toml",
    "report": "rig's report.json",
    "board": "board",
    "board_file": "calibration/board.toml",
    "media": "calibration media",
    "intrinsics": "intrinsics.toml",
    "videos": "videos",
    "keypoints": "keypoints",
    "individuals": "individuals",
    "given_points": "manual or imported points",
    "tracker": "tracker",
    "second_opinion": "second opinion's tracker",
    "labels": "labels.nc",
    "journal": "labels.nc.journal",
    "edges": "skeleton edges",
    "fps": "fps",
    "poses": "poses3d.nc",
    "session": "session.toml",
}


def key_of(facts: dict[str, Any], version: str) -> str:
    """The step's key: a hash of its fingerprint and pose3d's version."""
    text = json.dumps(
        {"facts": facts, "version": version, "schema": s.SCHEMA_VERSION}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def outputs(folder: SessionFolder, job: Job) -> list[Path]:
    """The files ``job`` writes (a step whose outputs are gone is not up to date)."""
    paths = folder.paths
    if job.step == "calibrate":
        return [paths.calibration]
    if job.step == "track":
        return [paths.labels]
    if job.step == "triangulate":
        return [paths.poses]
    if job.step == "export":
        return [folder.root / EXPORTS / fmt for fmt in job.params["formats"]]
    return [folder.root / EXPORTS / SHEET]


def run(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    """Run ``job`` on ``folder`` (opened for writing); returns one line saying what it did."""
    runner: dict[str, Callable[[SessionFolder, Job, ProgressCallback], str]] = {
        "calibrate": _calibrate,
        "track": _track,
        "triangulate": _triangulate,
        "export": _export,
        "view": _view,
    }
    return runner[job.step](folder, job, progress)


# --- the steps ---------------------------------------------------------------------------------


def _calibrate(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    if job.calibration_from is not None:
        return _take_calibration(folder, job.calibration_from)
    from pose3d.pipeline.calibrate import calibrate_session

    p = job.params
    result = calibrate_session(
        folder,
        step=p["step"],
        reference=p["reference"],
        progress=progress,
        fisheye=p["fisheye"],
        refit_intrinsics=p["refit_intrinsics"],
    )
    report = result.report
    worst = max(c.rms_px for c in report.cameras)
    verdict = "trusted" if report.trusted else f"not trusted: {'; '.join(report.warnings)}"
    return f"{len(report.cameras)} cameras, RMS at most {worst:.2f} px, {verdict}"


def _take_calibration(folder: SessionFolder, rig_root: str) -> str:
    """Copy the rig session's calibration (the cameras of this session) and its report."""
    with SessionFolder(rig_root, write=False) as rig:
        if not rig.has_calibration():
            raise Pose3dError(
                f"rig session {rig.root} has no calibration ({rig.paths.calibration}); "
                "calibrate it first (it runs before this session when it is in the batch)"
            )
        cameras = rig.cameras()
        report = rig.report()
    missing = [n for n in folder.session.camera_names if n not in cameras.names]
    if missing:
        raise Pose3dError(
            f"rig calibration {rig.paths.calibration} has no camera {', '.join(missing)}; its "
            f"cameras are {', '.join(cameras.names)}: name this session's cameras as the rig's"
        )
    folder.save_calibration(cameras.subset(folder.session.camera_names))
    if report is not None:
        folder.save_report(report)
    return f"calibration of rig session {rig.root} ({', '.join(folder.session.camera_names)})"


def _track(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    from pose3d.pipeline.track import propagate
    from pose3d.tracking.registry import make_trackers

    named, other, side = (job.params[k] for k in ("tracker", "second_opinion", "tapir_side"))
    choice, second = make_trackers(named, other, tapir_side=side)
    views = job.params["views"] or "all"
    report = propagate(folder, views, None, choice.tracker, second=second, progress=progress)
    skipped = f"; not tracked (no manual points): {', '.join(report.skipped)}" * bool(
        report.skipped
    )
    opinion = "" if second is None else f" (second opinion: {second.name})"
    return (
        f"{report.tracker}: {report.tracked} points of {len(report.views)} views from "
        f"{report.queries} manual points, {report.flagged} flagged for review{opinion}{skipped}"
    )


def _triangulate(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    from pose3d.pipeline.triangulate import triangulate_session
    from pose3d.triangulation import TriangulationSettings

    p = job.params
    settings = TriangulationSettings.from_options(**p)
    poses = triangulate_session(folder, settings, progress)
    n_views = poses[s.N_VIEWS].values
    errors = poses[s.REPROJECTION_ERROR].values
    finite = errors[np.isfinite(errors)]
    median = f"{np.median(finite):.2f} px" if finite.size else "n/a"
    return (
        f"{p['method']}: {int((n_views > 0).sum())} of {n_views.size} points, median "
        f"reprojection error {median}"
    )


def _export(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    """Each format into ``SESSION/exports/FORMAT/``, built beside it and swapped in whole, so
    that a rerun replaces the previous export and a killed run leaves it as it was."""
    from pose3d.io.atomic import current_umask
    from pose3d.io.formats import export_formats
    from pose3d.io.safe_names import file_name
    from pose3d.pipeline.labels_io import export_session

    options = {k: job.params[k] for k in ("individual", "scorer", "start_time") if job.params[k]}
    formats = job.params["formats"]
    exports = _exports_folder(folder)
    written = 0
    for done, fmt in enumerate(formats):
        progress("export", done, len(formats))
        staging = Path(tempfile.mkdtemp(prefix=f".{fmt}.", dir=exports))
        staging.chmod(0o777 & ~current_umask())  # mkdtemp's folder is private; an export is not
        try:
            out = staging
            if fmt in _FILE_SUFFIX:  # the session's name from its session.toml: one name
                out = staging / (file_name(folder.session.name, "session name") + _FILE_SUFFIX[fmt])
            wanted = {k: v for k, v in options.items() if k in export_formats()[fmt].options}
            written += len(export_session(folder, fmt, out, wanted))
            _swap_in(staging, exports / fmt)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    progress("export", len(formats), len(formats))
    return f"{written} files in {exports} ({', '.join(formats)})"


def _exports_folder(folder: SessionFolder) -> Path:
    """``SESSION/exports``, made when missing; a link or a file there is refused."""
    exports = _own_folder(folder.root / EXPORTS)
    exports.mkdir(exist_ok=True)
    return exports


def _own_folder(path: Path) -> Path:
    """``path``, refused when it is a symbolic link or not a folder (pose3d writes into it)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise Pose3dError(f"{path} is not a folder pose3d wrote; move it away and run again")
    return path


def _swap_in(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``, replacing the folder there (renames only)."""
    _own_folder(target)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _view(folder: SessionFolder, job: Job, progress: ProgressCallback) -> str:
    from pose3d.viewer.sheet import contact_sheet, save_sheet

    poses = folder.poses()
    n = poses.sizes[s.TIME]
    frame = n // 2 if job.params["frame"] is None else job.params["frame"]
    if not 0 <= frame < n:
        raise Pose3dError(f"view: frame {frame} is beyond poses3d.nc's {n} frames")
    progress("contact sheet", 0, 1)
    labels = folder.labels() if folder.has_labels() else None
    sheet = contact_sheet(
        poses,
        frame,
        labels,
        folder.cameras(),
        folder.videos(),
        job.params["width"],
        job.params["whole"],
    )
    path = save_sheet(_exports_folder(folder) / SHEET, sheet)
    progress("contact sheet", 1, 1)
    return f"contact sheet of frame {frame}: {path}"


# --- fingerprints ------------------------------------------------------------------------------


def given_points(labels: xr.Dataset) -> str:
    """A digest of the points a person placed or marked hidden, and the imported ones (what a
    track keeps and starts from); tracked and reprojected points are left out."""
    order = (s.TIME, s.VIEW, s.KEYPOINT, s.INDIVIDUAL)
    source = labels[s.SOURCE].transpose(*order).values
    given = np.isin(source, (int(s.PointSource.MANUAL), int(s.PointSource.IMPORTED)))
    position = labels[s.POSITION].transpose(*order, s.SPACE).values
    digest = hashlib.sha256()
    for name in order:
        digest.update(repr(labels[name].values.tolist()).encode())
    digest.update(np.where(given, source, 0).astype(np.int8).tobytes())
    digest.update(np.where(given[..., None], np.nan_to_num(position, nan=-1.0), 0.0).tobytes())
    if s.HIDDEN in labels:
        hidden = labels[s.HIDDEN].transpose(*order).values.astype(bool)
        digest.update((hidden & given).tobytes())
    return digest.hexdigest()


def _labels(folder: SessionFolder, digests: Digests) -> dict[str, str]:
    from pose3d.io.label_journal import journal_path

    labels = folder.paths.labels
    return {"labels": digests.of(labels), "journal": digests.of(journal_path(labels))}


def _videos(folder: SessionFolder, digests: Digests) -> dict[str, Any]:
    return {"videos": {n: [digests.of(v.path), v.offset] for n, v in folder.videos().items()}}


def _tracker_fact(name: str | None, digests: Digests) -> list[str]:
    """The tracker ``make_tracker(name)`` picks, with its weights' digest."""
    from pose3d.tracking.registry import MissingWeights, select

    try:
        chosen = select(name)
    except MissingWeights:
        return [f"{name} (no weights)"]  # the step fails, saying what to install
    if chosen.weights is None:
        return [chosen.name]
    return [chosen.name, digests.of(chosen.weights)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
