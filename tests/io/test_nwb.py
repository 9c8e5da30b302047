"""NWB export (ndx-pose): the file reads back with pynwb, from the file's own cached namespaces,
with the session's values: 2D labels per camera, 3D poses, skeleton, cameras, timestamps."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.calibration_toml import load_calibration
from pose3d.io.formats import ExportData, export
from pose3d.io.netcdf import load_labels, load_poses, save_labels, save_poses
from pose3d.io.session_toml import save_session
from pose3d.labels import new_labels
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.labels_io import export_session
from pose3d.poses import poses_dataset
from pose3d.session import CameraSpec, Session
from pose3d.skeleton import Skeleton

pynwb = pytest.importorskip("pynwb", reason="NWB export needs pynwb (pip install '.[nwb]')")
pytest.importorskip("ndx_pose", reason="NWB export needs ndx-pose (pip install '.[nwb]')")


@contextmanager
def _read(path: Path) -> Iterator[Any]:
    with pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True) as io:
        yield io.read()


def _check_2d(nwbfile: Any, session: Session, labels: xr.Dataset, individual: str) -> None:
    multi = nwbfile.processing["behavior"]["MultiCameraPoseEstimation"]
    assert sorted(multi.pose_estimations) == sorted(session.camera_names)
    for view in session.camera_names:
        estimation = multi.pose_estimations[view]
        assert estimation.source_software == "pose3d"
        assert estimation.skeleton.name == individual
        one = labels.sel({s.VIEW: view, s.INDIVIDUAL: individual})
        for keypoint in session.skeleton.keypoints:
            series = estimation.pose_estimation_series[keypoint]
            point = one.sel({s.KEYPOINT: keypoint})
            expected = point[s.POSITION].transpose(s.TIME, s.SPACE).values
            np.testing.assert_array_equal(series.data[:], expected)
            np.testing.assert_array_equal(series.confidence[:], point[s.CONFIDENCE].values)
            np.testing.assert_array_equal(series.timestamps[:], labels[s.TIME].values / 30.0)
            assert series.unit == "pixels"


def _check_3d(nwbfile: Any, poses: xr.Dataset, individual: str) -> None:
    multi = nwbfile.processing["behavior"]["MultiCameraPoseEstimation"]
    one = poses.sel({s.INDIVIDUAL: individual})
    assert sorted(multi.pose_estimation_series) == sorted(map(str, poses[s.KEYPOINT].values))
    for keypoint in multi.pose_estimation_series:
        series = multi.pose_estimation_series[keypoint]
        point = one.sel({s.KEYPOINT: keypoint})
        np.testing.assert_array_equal(
            series.data[:], point[s.POSITION].transpose(s.TIME, s.SPACE).values
        )
        np.testing.assert_array_equal(series.confidence[:], point[s.CONFIDENCE].values)
        np.testing.assert_array_equal(series.timestamps[:], poses[s.TIME].values)
        assert series.unit == poses[s.POSITION].attrs[s.ATTR_SPACE_UNIT]


def test_session_round_trip(full_session: Session, tmp_path: Path) -> None:
    session = full_session
    paths = export_session_to(session, tmp_path / "out")
    assert paths == [tmp_path / "out" / "session.nwb"]
    (path,) = paths
    labels, poses = load_labels(session.paths.labels), load_poses(session.paths.poses)
    assert int((labels[s.SOURCE] == s.PointSource.MANUAL).sum()) > 0
    assert np.isnan(labels[s.POSITION].values).any()
    assert pynwb.validate(path=str(path)) == []
    with _read(path) as nwbfile:
        _check_2d(nwbfile, session, labels, "individual_0")
        _check_3d(nwbfile, poses, "individual_0")
        assert nwbfile.subject.subject_id == "individual_0"
        skeleton = nwbfile.processing["behavior"]["Skeletons"].skeletons["individual_0"]
        assert list(skeleton.nodes[:]) == list(session.skeleton.keypoints)
        assert [tuple(e) for e in skeleton.edges[:].tolist()] == list(session.skeleton.edge_indices)
        cameras = load_calibration(session.paths.calibration)
        assert sorted(nwbfile.devices) == ["cam0", "cam2"]  # the session's, of 4 calibrated
        for cam in (cameras[name] for name in session.camera_names):
            device = nwbfile.devices[cam.name]
            np.testing.assert_array_equal(device.intrinsic_matrix[:], cam.matrix)
            np.testing.assert_array_equal(device.rotation_matrix[:], cam.rotation)
            np.testing.assert_array_equal(device.translation_vector[:], cam.tvec)
            np.testing.assert_array_equal(device.distortion_coefficients[:], cam.dist)
            video = nwbfile.acquisition[f"video_{cam.name}"]
            assert (path.parent / video.external_file[0]).samefile(session.video_path(cam.name))
            assert video.rate == 30.0 and video.num_samples == 60


def export_session_to(session: Session, out: Path, **options: str) -> list[Path]:
    return export_session(SessionFolder(session, write=False), "nwb", out, options)


def test_hidden_marks_are_nan_points_with_confidence_zero(
    full_session: Session, tmp_path: Path
) -> None:
    """ndx-pose has no visibility field: a hidden keypoint is a NaN point with confidence 0, a
    point not labelled a NaN point with confidence NaN, so the file tells them apart and the
    hidden marks come back from it."""
    from pose3d.labels import set_hidden

    session = full_session
    labels = load_labels(session.paths.labels)
    marks = [(3, "cam0", "nose"), (30, "cam2", "tail_base"), (45, "cam2", "nose")]
    for frame, view, keypoint in marks[:2]:
        labels = set_hidden(labels, frame, view, keypoint, "individual_0")
    labels = set_hidden(labels, *marks[2], "individual_0", s.PointSource.TRACKED)
    save_labels(session.paths.labels, labels)
    keypoints = [str(k) for k in labels[s.KEYPOINT].values]
    (path,) = export_session_to(session, tmp_path / "out")
    assert pynwb.validate(path=str(path)) == []
    with _read(path) as nwbfile:
        _check_2d(nwbfile, session, labels, "individual_0")  # confidence 0 there already
        multi = nwbfile.processing["behavior"]["MultiCameraPoseEstimation"]
        found = []
        for view in session.camera_names:
            for keypoint in keypoints:
                series = multi.pose_estimations[view].pose_estimation_series[keypoint]
                data, confidence = series.data[:], series.confidence[:]
                nan = np.isnan(data).all(axis=1)
                hidden = nan & (confidence == 0)
                found += [(int(t), view, keypoint) for t in np.flatnonzero(hidden)]
                assert np.isnan(confidence[nan & ~hidden]).all()  # not labelled
    assert sorted(found) == sorted(marks)


def test_two_individuals_one_file_each(full_session: Session, tmp_path: Path) -> None:
    """An NWB file describes one subject: each individual gets its own file."""
    session = replace(full_session, individuals=("mouse", "rat"))
    save_session(session)
    labels = load_labels(session.paths.labels)
    other = labels.copy(deep=True)
    other[s.POSITION].values[:] += 7.0
    both = xr.concat([labels, other], dim=s.INDIVIDUAL)
    both = both.assign_coords({s.INDIVIDUAL: ["mouse", "rat"]})
    save_labels(session.paths.labels, both)
    session.paths.poses.unlink()  # 2D only
    start = "2024-05-01T14:30:00+02:00"
    paths = export_session_to(session, tmp_path / "out", start_time=start)
    assert [p.name for p in paths] == ["session_mouse.nwb", "session_rat.nwb"]
    for individual, path in zip(("mouse", "rat"), paths, strict=True):
        with _read(path) as nwbfile:
            _check_2d(nwbfile, session, both, individual)
            multi = nwbfile.processing["behavior"]["MultiCameraPoseEstimation"]
            assert len(multi.pose_estimation_series) == 0
            assert nwbfile.subject.subject_id == individual
            assert nwbfile.session_start_time == dt.datetime.fromisoformat(start)


def test_uncalibrated_session_without_videos(full_session: Session, tmp_path: Path) -> None:
    """Without calibration.toml the cameras are plain devices; a missing video is not linked."""
    session = full_session
    session.paths.calibration.unlink()
    session.video_path("cam2").unlink()
    (path,) = export_session_to(session, tmp_path / "out")
    with _read(path) as nwbfile:
        assert not hasattr(nwbfile.devices["cam0"], "intrinsic_matrix")
        assert "video_cam2" not in nwbfile.acquisition and "video_cam0" in nwbfile.acquisition
        _check_2d(nwbfile, session, load_labels(session.paths.labels), "individual_0")


def test_frame_indexed_poses_get_seconds(full_session: Session, tmp_path: Path) -> None:
    """Poses written without a frame rate count frames; NWB gets frame / the session's fps."""
    session = full_session
    poses = load_poses(session.paths.poses)
    position = poses[s.POSITION].transpose(s.TIME, s.SPACE, s.KEYPOINT, s.INDIVIDUAL).values
    keypoints = [str(k) for k in poses[s.KEYPOINT].values]
    frames = poses_dataset(position, keypoints, ["individual_0"], fps=None, space_unit="mm")
    assert frames.attrs[s.ATTR_TIME_UNIT] == "frames"
    save_poses(session.paths.poses, frames)
    (path,) = export_session_to(session, tmp_path / "out")
    with _read(path) as nwbfile:
        series = nwbfile.processing["behavior"]["MultiCameraPoseEstimation"]
        nose = series.pose_estimation_series["nose"]
        np.testing.assert_array_equal(nose.timestamps[:], np.arange(60) / 30.0)
        np.testing.assert_array_equal(
            nose.data[:], poses[s.POSITION].sel({s.KEYPOINT: "nose"}).values[..., 0]
        )


def test_refusals_write_nothing(full_session: Session, tmp_path: Path) -> None:
    session = full_session
    out = tmp_path / "out"
    no_fps = replace(session, fps=None)
    with pytest.raises(Pose3dError, match=r"session.toml has no fps.*fps = 30.0"):
        export_session_to(no_fps, out)
    with pytest.raises(Pose3dError, match="not an ISO 8601"):
        export_session_to(session, out, start_time="yesterday")
    with pytest.raises(Pose3dError, match="takes no option scorer"):
        export_session_to(session, out, scorer="me")
    renamed = replace(session, skeleton=Skeleton(("a", "b")))
    with pytest.raises(Pose3dError, match=r"labels\.nc has keypoints nose, .*\ba, b\b"):
        export_session_to(renamed, out)
    with pytest.raises(Pose3dError, match=r"cannot hold '/' or ':': rename paw:l"):
        export("nwb", _renamed(session, ("nose", "paw:l")), out)
    with pytest.raises(Pose3dError, match="share the names cam0"):
        export("nwb", _renamed(session, ("nose", "cam0")), out)
    assert not out.exists()
    session.paths.labels.unlink()
    with pytest.raises(Pose3dError, match=r"labels.nc does not exist"):
        export_session_to(session, out)
    assert not out.exists()


def _renamed(session: Session, keypoints: tuple[str, ...]) -> ExportData:
    """The session's labels with their first keypoints renamed, as the session says."""
    labels = load_labels(session.paths.labels).isel({s.KEYPOINT: slice(0, len(keypoints))})
    labels = labels.assign_coords({s.KEYPOINT: list(keypoints)})
    return ExportData(labels=labels, session=replace(session, skeleton=Skeleton(keypoints)))


def test_existing_file_is_not_replaced(full_session: Session, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "session.nwb").write_bytes(b"mine")
    with pytest.raises(Pose3dError, match=r"session\.nwb already exists"):
        export_session_to(full_session, out)
    assert (out / "session.nwb").read_bytes() == b"mine"
    assert [p.name for p in out.iterdir()] == ["session.nwb"]  # no temporary file left


# --- real data: sleap-anipose's minimal session (3 cameras, proofread 2D, published 3D) ---

VIEWS = ("back", "mid", "top")


def _real_session(minimal: Path, root: Path) -> Session:
    import h5py

    tracks = {}
    for view in VIEWS:
        (analysis,) = (minimal / view).glob("*_proofread.analysis.h5")
        with h5py.File(analysis, "r") as f:
            tracks[view] = f["tracks"][0]  # (2, K, T)
            names = [n.decode() for n in f["node_names"][:]]
            edges = [(a.decode(), b.decode()) for a, b in f["edge_names"][:]]
    with h5py.File(minimal / "points3d.h5", "r") as f:
        points = np.asarray(f["tracks"][:, 0])  # (T, K, 3) mm
    root.mkdir()
    session = Session(
        root=root,
        name="minimal",
        cameras=tuple(CameraSpec(v, str(next((minimal / v).glob("*.mp4")))) for v in VIEWS),
        skeleton=Skeleton(tuple(names), tuple(edges)),
        individuals=("track_0",),
        fps=30.0,
    )
    save_session(session)
    session.paths.calibration_dir.mkdir()
    shutil.copy(minimal / "calibration.toml", session.paths.calibration)
    labels = new_labels(points.shape[0], VIEWS, names, ["track_0"])
    position = np.stack([tracks[v].transpose(2, 0, 1) for v in VIEWS], axis=1)  # (T, V, 2, K)
    labels[s.POSITION].values[:] = position[..., None]
    seen = np.isfinite(position).all(axis=2)
    labels[s.CONFIDENCE].values[:] = np.where(seen, 1.0, np.nan)[..., None]
    labels[s.SOURCE].values[:] = np.where(seen, int(s.PointSource.MANUAL), 0)[..., None]
    save_labels(session.paths.labels, labels)
    poses = poses_dataset(points.transpose(0, 2, 1)[..., None], names, ["track_0"], fps=30.0)
    save_poses(session.paths.poses, poses)
    return session


@pytest.mark.parametrize("mounted", ["as it is", "through a symlink"])
def test_real_session_round_trip(minimal_session: Path, tmp_path: Path, mounted: str) -> None:
    """The same checks whether the data folder is reached through a symlink or not (a clone
    whose ../shared is a link): paths are compared as files, never as strings."""
    if mounted == "through a symlink":
        link = tmp_path / "shared_link"
        link.symlink_to(minimal_session, target_is_directory=True)
        minimal_session = link
    session = _real_session(minimal_session, tmp_path / "minimal")
    (path,) = export_session_to(session, tmp_path / "out")
    assert path.name == "minimal.nwb"
    with _read(path) as nwbfile:
        labels = load_labels(session.paths.labels)
        assert np.isfinite(labels[s.POSITION].values).mean() > 0.5
        _check_2d(nwbfile, session, labels, "track_0")
        _check_3d(nwbfile, load_poses(session.paths.poses), "track_0")
        for view in VIEWS:
            video = nwbfile.acquisition[f"video_{view}"]
            # the same file however ../shared is mounted (through a symlink or not)
            assert (path.parent / video.external_file[0]).samefile(session.video_path(view))
            assert video.num_samples == 120
        assert "side" not in nwbfile.devices  # in calibration.toml, not a camera of the session
