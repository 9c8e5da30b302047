"""NWB (Neurodata Without Borders) with the ndx-pose extension (>= 0.4): a session's 2D labels
and 3D poses (export only; needs ``pip install 'pose3d-suite[nwb]'``).

An NWB file describes one subject, so a session with several individuals gives one file each:
``OUT/<session>.nwb``, or ``OUT/<session>_<individual>.nwb``; each name is made one safe file-name
component (pose3d.io.safe_names.file_name: ``a/b`` -> ``a_b``, ``..`` refused) and every file is
checked to stay in OUT, replace nothing and not be a symbolic link (pose3d.io.formats.new_files).
Layout of a file::

    subject                          Subject(subject_id = the individual)
    general/devices/<view>           CalibratedCamera: K, R (world -> camera), t, distortions of
                                     calibration/calibration.toml; a plain Device without one
    acquisition/video_<view>         ImageSeries: the view's video as an external file (path
                                     relative to the .nwb), starting at offset / fps seconds;
                                     left out when the video does not open
    processing/behavior/
      Skeletons/<individual>         Skeleton: the session's keypoints and edges, linked to Subject
      MultiCameraPoseEstimation      source_software "pose3d" (with its version), skeleton link
        <keypoint> ...               PoseEstimationSeries (T, 3) of poses3d.nc (when it exists),
                                     unit = the poses' space_unit (e.g. "mm"), confidence
        <view>/                      PoseEstimation per camera view: device, source_video, skeleton
          <keypoint> ...             PoseEstimationSeries (T, 2) of labels.nc, unit "pixels",
                                     confidence; NaN = no point: with confidence 0 the
                                     keypoint is hidden, with confidence NaN not labelled

Positions are float64 as in the netCDF files (the ndx-pose spec's float32 is a minimum).
Timestamps are seconds: a label's session frame / the session's fps; the poses' own time when
it is in seconds, else their frame / fps. The series of one container share the first one's
timestamps (an NWB link). Not in the file: which points are manual, tracked or imported, the
review flags, the reprojection error and n_views (labels.nc and poses3d.nc keep them).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pose3d import __version__
from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError
from pose3d.io.atomic import atomic_write_bytes
from pose3d.io.formats import ExportData, new_files
from pose3d.io.safe_names import file_name
from pose3d.session import Session

BEHAVIOR = "behavior"
MULTI_CAMERA = "MultiCameraPoseEstimation"
VIDEO_PREFIX = "video_"
PIXELS = "pixels"
CONFIDENCE_2D = (
    "labels.nc confidence: 1 for manual labels, the tracker's confidence for tracked points, "
    "the other tool's score for imported points; 0 where the keypoint is marked hidden (not "
    "visible, position NaN); NaN where there is no point (not labelled)"
)
CONFIDENCE_3D = "poses3d.nc confidence of the triangulated point (0-1); NaN where there is none"


def _modules() -> tuple[Any, Any]:
    """pynwb and ndx_pose, or a Pose3dError saying how to install them."""
    try:
        import ndx_pose
        import pynwb
    except ImportError as exc:
        raise Pose3dError(
            f"NWB export needs pynwb and ndx-pose ({exc}); install them with "
            "`pip install 'pose3d-suite[nwb]'` (or `pip install pynwb ndx-pose`)"
        ) from None
    return pynwb, ndx_pose


def nwb_paths(session: Session, out: Path) -> dict[str, Path]:
    """Individual -> the .nwb file it goes to in ``out`` (names made safe: module docstring)."""
    stem = file_name(session.name, "session name")
    if len(session.individuals) == 1:
        return {session.individuals[0]: out / f"{stem}.nwb"}
    return {
        name: out / f"{stem}_{file_name(name, 'individual name')}.nwb"
        for name in session.individuals
    }


@dataclass(frozen=True)
class _Sources:
    """What an NWB export writes from, checked against the session."""

    session: Session
    labels: xr.Dataset
    poses: xr.Dataset | None
    cameras: CameraGroup | None
    fps: float
    start: dt.datetime


def export_nwb(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write ``data.labels`` (and ``data.poses`` when given; ``data.cameras`` as the devices
    when given) as NWB files in ``out``, one per individual of ``data.session``."""
    _modules()
    sources = _sources(data, options)
    session = sources.session
    paths = nwb_paths(session, out)
    new_files(out, paths.values())
    out.mkdir(parents=True, exist_ok=True)
    for individual, path in paths.items():
        _write(_nwb_file(sources, individual, path.parent), path)
    return list(paths.values())


def _sources(data: ExportData, options: Mapping[str, str]) -> _Sources:
    """Check everything before a file is written."""
    session, labels, poses = data.session, data.labels, data.poses
    assert session is not None and labels is not None  # the format needs them: formats.export
    keypoints = session.skeleton.keypoints
    bad = [n for n in (*keypoints, *session.individuals) if "/" in n or ":" in n]
    if bad:
        raise Pose3dError(
            f"NWB names cannot hold '/' or ':': rename {', '.join(bad)} in session.toml "
            "(and in labels.nc / poses3d.nc, e.g. by importing again with a mapping table)"
        )
    clash = sorted(set(keypoints) & set(session.camera_names))
    if clash:
        raise Pose3dError(
            f"keypoints and cameras share the names {', '.join(clash)}; NWB keeps the 3D series "
            "of the keypoints and the 2D groups of the cameras side by side, so rename them"
        )
    if len(keypoints) > 256:
        raise Pose3dError(
            f"NWB (ndx-pose) stores skeleton edges as uint8 indices: at most 256 keypoints, "
            f"the session has {len(keypoints)}"
        )
    fps = _fps(session)
    start = _start_time(session, options.get("start_time"))
    for ds, path in ((labels, session.paths.labels), (poses, session.paths.poses)):
        if ds is not None:
            _check_names(ds, path, session)
    return _Sources(session, labels, poses, data.cameras, fps, start)


def _check_names(ds: xr.Dataset, path: Path, session: Session) -> None:
    for dim, expected in (
        (s.KEYPOINT, session.skeleton.keypoints),
        (s.INDIVIDUAL, session.individuals),
    ):
        found = tuple(str(v) for v in ds[dim].values)
        if found != expected:
            raise Pose3dError(
                f"{path} has {dim}s {', '.join(found)} but session.toml names "
                f"{', '.join(expected)}; make them agree (the NWB skeleton is session.toml's)"
            )


def _fps(session: Session) -> float:
    if session.fps is None:
        raise Pose3dError(
            f"{session.session_file} has no fps; NWB timestamps are seconds. Add the cameras' "
            "frame rate, e.g. `fps = 30.0`, to session.toml"
        )
    return float(session.fps)


def _start_time(session: Session, given: str | None) -> dt.datetime:
    """``given`` (ISO 8601; local time when it names no time zone), else the first camera's
    video's modification time (session.toml's when the video is missing)."""
    if given is not None:
        try:
            start = dt.datetime.fromisoformat(given)
        except ValueError:
            raise Pose3dError(
                f"start time {given!r} is not an ISO 8601 date and time; "
                "expected e.g. 2024-05-01T14:30:00+02:00"
            ) from None
        return start if start.tzinfo is not None else start.astimezone()
    video = session.video_path(session.camera_names[0])
    source = video if video.exists() else session.session_file
    return dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC)


def _nwb_file(sources: _Sources, individual: str, folder: Path) -> Any:
    pynwb, ndx_pose = _modules()
    session, labels, poses, fps = sources.session, sources.labels, sources.poses, sources.fps
    subject = pynwb.file.Subject(subject_id=individual)
    nwbfile = pynwb.NWBFile(
        session_description=f"pose3d session {session.name}: 2D labels and 3D poses",
        identifier=str(uuid.uuid4()),
        session_start_time=sources.start,
        subject=subject,
    )
    behavior = nwbfile.create_processing_module(
        name=BEHAVIOR, description=f"poses of {individual} (pose3d session {session.name})"
    )
    skeleton = ndx_pose.Skeleton(
        name=individual,
        nodes=list(session.skeleton.keypoints),
        edges=np.array(session.skeleton.edge_indices, dtype=np.uint8).reshape(-1, 2),
        subject=subject,
    )
    behavior.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    views = [str(v) for v in labels[s.VIEW].values]
    estimations = []
    for view in views:
        one = labels.sel({s.VIEW: view, s.INDIVIDUAL: individual})
        estimations.append(
            ndx_pose.PoseEstimation(
                name=view,
                description=f"2D labels of camera {view} (pose3d labels.nc)",
                pose_estimation_series=_series_2d(one, view, fps),
                skeleton=skeleton,
                device=_device(nwbfile, session, view, sources.cameras),
                source_video=_video(nwbfile, session, view, fps, folder),
                source_software=s.SOURCE_SOFTWARE,
                source_software_version=__version__,
            )
        )
    series_3d = [] if poses is None else _series_3d(poses.sel({s.INDIVIDUAL: individual}), fps)
    behavior.add(
        ndx_pose.MultiCameraPoseEstimation(
            name=MULTI_CAMERA,
            description=_description(views, poses),
            pose_estimation_series=series_3d,
            pose_estimations=estimations,
            skeleton=skeleton,
            source_software=s.SOURCE_SOFTWARE,
            source_software_version=__version__,
        )
    )
    return nwbfile


def _description(views: Sequence[str], poses: xr.Dataset | None) -> str:
    text = f"pose3d: 2D labels of cameras {', '.join(views)}"
    if poses is None:
        return text + "; no 3D poses (the session was not triangulated)"
    method = poses.attrs.get("pose3d_triangulation")
    return text + "; 3D poses triangulated" + (f" ({method})" if method else "")


def _device(nwbfile: Any, session: Session, view: str, cameras: CameraGroup | None) -> Any:
    _, ndx_pose = _modules()
    video = session.camera(view).video
    if cameras is None or view not in cameras.names:
        return nwbfile.create_device(name=view, description=f"camera {view}, video {video}")
    cam = cameras[view]
    unit = cameras.unit or "unknown unit"
    device = ndx_pose.CalibratedCamera(
        name=view,
        description=(
            f"camera {view}, video {video}, {cam.size[0]}x{cam.size[1]} px; OpenCV "
            f"{cam.model} lens model; translation in {unit} (calibration.toml)"
        ),
        intrinsic_matrix=np.asarray(cam.matrix),
        rotation_matrix=np.asarray(cam.rotation),
        translation_vector=np.asarray(cam.tvec),
        distortion_coefficients=np.asarray(cam.dist),
    )
    nwbfile.add_device(device)
    return device


def _video(nwbfile: Any, session: Session, view: str, fps: float, folder: Path) -> Any:
    """The view's video as an external ImageSeries, or None when the video does not open."""
    from pose3d.io.video_probe import probe_video

    pynwb, _ = _modules()
    camera = session.camera(view)
    info = probe_video(view, session.video_path(view), camera.offset)
    if info.error:
        return None
    relative = os.path.relpath(info.path.resolve(), folder.resolve())
    video = pynwb.image.ImageSeries(
        name=f"{VIDEO_PREFIX}{view}",
        description=f"video of camera {view} (camera frame i is session frame i + offset)",
        external_file=[relative],
        format="external",
        starting_frame=[0],
        num_samples=info.n_frames,
        starting_time=camera.offset / fps,
        rate=fps,
    )
    nwbfile.add_acquisition(video)
    return video


def _series_2d(one: xr.Dataset, view: str, fps: float) -> list[Any]:
    """One PoseEstimationSeries (T, 2) px per keypoint of one view and individual."""
    timestamps = one[s.TIME].values / fps  # session frames -> s
    frame = f"(0, 0) is the centre of the top-left pixel of camera {view}'s image"
    one = one.assign({s.CONFIDENCE: _confidence_2d(one)})
    return _series(one, timestamps, PIXELS, frame, f" in camera {view}", CONFIDENCE_2D)


def _confidence_2d(one: xr.Dataset) -> xr.DataArray:
    """labels.nc's confidence with NWB's two kinds of NaN point told apart (ndx-pose has no
    visibility field): 0 where the keypoint is hidden, NaN where it is not labelled."""
    has = one[s.POSITION].notnull().all(s.SPACE)
    confidence = one[s.CONFIDENCE].where(has)
    if s.HIDDEN in one.data_vars:
        confidence = confidence.where(~one[s.HIDDEN], 0.0)
    return confidence


def _series_3d(one: xr.Dataset, fps: float) -> list[Any]:
    """One PoseEstimationSeries (T, 3) per keypoint of one individual's poses."""
    unit = str(one[s.POSITION].attrs.get(s.ATTR_SPACE_UNIT, "unknown"))
    seconds = one.attrs.get(s.ATTR_TIME_UNIT) == "seconds"
    timestamps = one[s.TIME].values.astype(np.float64) / (1.0 if seconds else fps)
    frame = "(0, 0, 0) is the origin of calibration.toml's world coordinates"
    return _series(one, timestamps, unit, frame, ", triangulated", CONFIDENCE_3D)


def _series(
    one: xr.Dataset,
    timestamps: np.ndarray,
    unit: str,
    reference_frame: str,
    described: str,
    confidence_definition: str,
) -> list[Any]:
    """One PoseEstimationSeries per keypoint of ``one`` (one individual; one view for 2D),
    described as the keypoint's name + ``described``; the series after the first link to its
    timestamps."""
    _, ndx_pose = _modules()
    position = one[s.POSITION].transpose(s.KEYPOINT, s.TIME, s.SPACE).values  # (K, T, D)
    confidence = one[s.CONFIDENCE].transpose(s.KEYPOINT, s.TIME).values  # (K, T)
    series: list[Any] = []
    for k, name in enumerate(str(n) for n in one[s.KEYPOINT].values):
        series.append(
            ndx_pose.PoseEstimationSeries(
                name=name,
                description=f"{name}{described}",
                data=position[k],
                unit=unit,
                reference_frame=reference_frame,
                confidence=confidence[k],
                confidence_definition=confidence_definition,
                timestamps=series[0] if series else timestamps,
            )
        )
    return series


def _write(nwbfile: Any, path: Path) -> None:
    """Build the file in memory, then write it with one atomic write: HDF5 never writes to the
    disk itself (after a full disk, h5py crashed at garbage collection)."""
    import io

    import h5py

    pynwb, _ = _modules()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as fh, pynwb.NWBHDF5IO(file=fh, mode="w") as nwb_io:
        nwb_io.write(nwbfile)
    atomic_write_bytes(path, buffer.getvalue())
