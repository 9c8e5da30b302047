"""SLEAP import against sleap-anipose's minimal session in ../shared/data (values checked
against h5py reads of the same files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from pose3d import schema as s
from pose3d.cli import main
from pose3d.errors import Pose3dError
from pose3d.io.label_formats import reader_for
from pose3d.io.netcdf import load_labels
from pose3d.io.sleap import read_analysis, read_slp
from pose3d.pipeline.session import init_session
from pose3d.session import Session
from tests.support.sessions import import_into

CAMERAS = ("back", "mid", "side", "top")


def _slp(minimal_session: Path, cam: str) -> Path:
    return minimal_session / cam / f"minimal_{cam}_proofread.slp"


def _analysis(minimal_session: Path, cam: str) -> Path:
    return minimal_session / cam / f"minimal_{cam}_proofread.analysis.h5"


def _nodes(minimal_session: Path) -> list[str]:
    with h5py.File(_analysis(minimal_session, "back"), "r") as fh:
        return [n.decode() for n in fh["node_names"][()]]


@pytest.fixture
def session(minimal_session: Path, tmp_path: Path) -> Session:
    """A pose3d session on the 4 real videos (120 frames each), the SLEAP skeleton."""
    videos = {cam: minimal_session / cam / f"minimal_{cam}.mp4" for cam in CAMERAS}
    return init_session(tmp_path / "s", videos, _nodes(minimal_session), individuals=["mouse"])


def _h5py_slp_points(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray, int]]:
    """frame_idx -> (xy (15, 2) with invisible = NaN, scores (15,), instance_type), by h5py."""
    out = {}
    with h5py.File(path, "r") as fh:
        frames, instances = fh["frames"][()], fh["instances"][()]
        points, pred = fh["points"][()], fh["pred_points"][()]
    for frame in frames:
        inst = instances[frame["instance_id_start"]]
        assert frame["instance_id_end"] - frame["instance_id_start"] == 1
        table = points if inst["instance_type"] == 0 else pred
        pts = table[inst["point_id_start"] : inst["point_id_end"]]
        xy = np.stack([pts["x"], pts["y"]], -1)
        xy[~pts["visible"]] = np.nan
        score = pts["score"] if inst["instance_type"] == 1 else np.full(len(pts), np.nan)
        out[int(frame["frame_idx"])] = (xy, score, int(inst["instance_type"]))
    return out


@pytest.mark.parametrize("cam", CAMERAS)
def test_slp_and_analysis_match_h5py(minimal_session: Path, cam: str) -> None:
    slp, analysis = _slp(minimal_session, cam), _analysis(minimal_session, cam)
    assert reader_for(slp).name == "sleap" and reader_for(analysis).name == "sleap-analysis"
    points = read_slp(slp)
    expected = _h5py_slp_points(slp)
    assert points.frames.tolist() == sorted(expected) == list(range(120))
    assert points.keypoints == tuple(_nodes(minimal_session))
    assert points.individuals == ("track_0",)
    for a, frame in enumerate(points.frames):
        xy, score, kind = expected[int(frame)]
        np.testing.assert_array_equal(points.position[a, 0], xy)
        np.testing.assert_array_equal(points.confidence[a, 0], np.clip(score, 0, 1))
        assert kind == 1 and not points.manual[a].any()  # stored as predicted
    with h5py.File(analysis, "r") as fh:
        tracks, scores = fh["tracks"][()], fh["point_scores"][()]  # (1, 2, 15, 120), (1, 15, 120)
    got = read_analysis(analysis)
    np.testing.assert_array_equal(got.position[:, 0], tracks[0].transpose(2, 1, 0))
    np.testing.assert_array_equal(got.confidence[:, 0], np.clip(scores[0].T, 0, 1))
    # the two exports of one project agree
    np.testing.assert_array_equal(got.position, points.position)
    assert np.isnan(points.position[..., 0]).mean() < 0.3  # README: ~8.7% NaN over all views


def test_import_slp_predicted_as_prelabels(session: Session, minimal_session: Path) -> None:
    path = _slp(minimal_session, "mid")
    report = import_into(session, "mid", path)
    expected = _h5py_slp_points(path)
    labels = load_labels(session.paths.labels)
    view = labels.sel({s.VIEW: "mid", s.INDIVIDUAL: "mouse"})
    n_points = 0
    for frame, (xy, score, _) in expected.items():
        at = view.sel({s.TIME: frame})
        np.testing.assert_array_equal(at[s.POSITION].transpose(s.KEYPOINT, s.SPACE).values, xy)
        has = np.isfinite(xy).all(-1)
        np.testing.assert_allclose(at[s.CONFIDENCE].values[has], np.clip(score[has], 0, 1))
        assert (at[s.SOURCE].values[has] == s.PointSource.IMPORTED).all()
        assert (at[s.SOURCE].values[~has] == s.PointSource.NONE).all()
        n_points += int(has.sum())
    assert report.imported == n_points and report.manual == 0 and report.frames == 120
    others = labels[s.SOURCE].sel({s.VIEW: ["back", "side", "top"]})
    assert int((others != 0).sum()) == 0


def test_import_analysis_as_labels_is_manual(session: Session, minimal_session: Path) -> None:
    path = _analysis(minimal_session, "top")
    report = import_into(session, "top", path, as_="labels")
    with h5py.File(path, "r") as fh:
        tracks = fh["tracks"][()][0]  # (2, 15, 120)
    view = load_labels(session.paths.labels).sel({s.VIEW: "top", s.INDIVIDUAL: "mouse"})
    np.testing.assert_array_equal(
        view[s.POSITION].transpose(s.SPACE, s.KEYPOINT, s.TIME).values, tracks
    )
    has = np.isfinite(tracks).all(0)  # (15, 120)
    source = view[s.SOURCE].transpose(s.KEYPOINT, s.TIME).values
    assert (source[has] == s.PointSource.MANUAL).all() and (source[~has] == 0).all()
    assert (view[s.CONFIDENCE].transpose(s.KEYPOINT, s.TIME).values[has] == 1).all()
    assert report.manual == int(has.sum())


def test_user_instance_wins_and_is_manual(
    session: Session, minimal_session: Path, tmp_path: Path
) -> None:
    """Frame 0's instance turned into a user instance (1 px right of the prediction)."""
    path = tmp_path / "user.slp"
    shutil.copyfile(_slp(minimal_session, "back"), path)
    with h5py.File(path, "r+") as fh:
        pred = fh["pred_points"][0:15]
        instances = fh["instances"][()]
        user_dtype = np.dtype([("x", "<f8"), ("y", "<f8"), ("visible", "?"), ("complete", "?")])
        user = np.zeros(15, user_dtype)
        for name in ("y", "visible", "complete"):
            user[name] = pred[name]
        user["x"] = pred["x"] + 1.0
        del fh["points"]
        fh.create_dataset("points", data=user, maxshape=(None,))
        instances[0]["instance_type"] = 0
        fh["instances"][...] = instances
    points = read_slp(path)
    assert points.manual[0].all() and not points.manual[1:].any()
    visible = pred["visible"] & np.isfinite(pred["x"])
    np.testing.assert_array_equal(points.position[0, 0, visible, 0], pred["x"][visible] + 1.0)
    report = import_into(session, "back", path)
    assert report.manual == int(np.isfinite(user["x"][visible]).sum())
    at = load_labels(session.paths.labels).sel({s.VIEW: "back", s.TIME: 0, s.INDIVIDUAL: "mouse"})
    assert (at[s.SOURCE].values[visible] == s.PointSource.MANUAL).all()


def _with_invisible_nodes(minimal_session: Path, path: Path) -> None:
    """back's .slp, with frame 0's instance made a user instance whose nodes 2 and 5 the
    labeller marked not visible (SLEAP keeps their coordinates), and frame 1's predicted node 3
    not visible (a model that found no peak)."""
    shutil.copyfile(_slp(minimal_session, "back"), path)
    with h5py.File(path, "r+") as fh:
        pred = fh["pred_points"][()]
        instances = fh["instances"][()]
        user_dtype = np.dtype([("x", "<f8"), ("y", "<f8"), ("visible", "?"), ("complete", "?")])
        user = np.zeros(15, user_dtype)
        for name in ("x", "y", "visible", "complete"):
            user[name] = pred[name][0:15]
        user["visible"][[2, 5]] = False
        del fh["points"]
        fh.create_dataset("points", data=user, maxshape=(None,))
        instances[0]["instance_type"] = 0
        fh["instances"][...] = instances
        start = int(instances[1]["point_id_start"])
        pred["visible"][start + 3] = False
        fh["pred_points"][...] = pred


def test_real_files_hold_no_hidden_keypoints(minimal_session: Path) -> None:
    """sleap-anipose's proofread files mark every node visible; their missing nodes have NaN
    coordinates: no point, not a hidden keypoint (and the analysis export has no flag)."""
    for cam in CAMERAS:
        points = read_slp(_slp(minimal_session, cam))
        assert not points.hidden.any() and points.hidden.shape == points.confidence.shape
        assert not read_analysis(_analysis(minimal_session, cam)).hidden.any()


def test_not_visible_nodes_import_as_hidden_marks_of_their_source(
    session: Session, minimal_session: Path, tmp_path: Path
) -> None:
    path = tmp_path / "invisible.slp"
    _with_invisible_nodes(minimal_session, path)
    points = read_slp(path)
    assert np.argwhere(points.hidden).tolist() == [[0, 0, 2], [0, 0, 5], [1, 0, 3]]
    assert np.isnan(points.position[points.hidden]).all()

    report = import_into(session, "back", path)
    assert report.hidden == 3
    view = load_labels(session.paths.labels).sel({s.VIEW: "back", s.INDIVIDUAL: "mouse"})
    hidden = view[s.HIDDEN].transpose(s.TIME, s.KEYPOINT).values
    assert np.argwhere(hidden).tolist() == [[0, 2], [0, 5], [1, 3]]
    source = view[s.SOURCE].transpose(s.TIME, s.KEYPOINT).values
    assert source[0, 2] == source[0, 5] == s.PointSource.MANUAL  # the labeller's mark
    assert source[1, 3] == s.PointSource.IMPORTED  # the model's
    assert (view[s.CONFIDENCE].transpose(s.TIME, s.KEYPOINT).values[hidden] == 0).all()
    assert np.isnan(view[s.POSITION].transpose(s.TIME, s.KEYPOINT, s.SPACE).values[hidden]).all()

    # the predictions again (prelabels): a manual hidden mark stays, an imported one is replaced
    import_into(session, "back", _slp(minimal_session, "back"))
    again = load_labels(session.paths.labels).sel({s.VIEW: "back", s.INDIVIDUAL: "mouse"})
    assert np.argwhere(again[s.HIDDEN].transpose(s.TIME, s.KEYPOINT).values).tolist() == [
        [0, 2],
        [0, 5],
    ]
    # as hand labels, the predictions would put points on manual hidden marks: refused whole
    before = session.paths.labels.read_bytes()
    refused = r"1 points would replace manual points \(or hidden marks\) .*\(frame 0 Head\)"
    with pytest.raises(Pose3dError, match=refused):
        import_into(session, "back", _slp(minimal_session, "back"), as_="labels")
    assert session.paths.labels.read_bytes() == before


def test_other_skeleton_and_corrupt_files_leave_labels_untouched(
    session: Session, minimal_session: Path, tmp_path: Path
) -> None:
    import_into(session, "back", _slp(minimal_session, "back"))
    before = session.paths.labels.read_bytes()
    # another skeleton: a file whose node Nose is called Snout
    renamed = tmp_path / "renamed.analysis.h5"
    shutil.copyfile(_analysis(minimal_session, "mid"), renamed)
    with h5py.File(renamed, "r+") as fh:
        names = fh["node_names"][()]
        names[0] = b"Snout"
        del fh["node_names"]
        fh["node_names"] = names
    with pytest.raises(Pose3dError, match="keypoints the session does not have: Snout"):
        import_into(session, "mid", renamed)
    # a truncated .slp and a truncated analysis file
    for src, name in ((_slp(minimal_session, "mid"), "cut.slp"), (renamed, "cut.analysis.h5")):
        cut = tmp_path / name
        data = src.read_bytes()
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(Pose3dError, match=f"{cut.name}.*not a label file|{cut.name}.*HDF5"):
            import_into(session, "mid", cut)
    assert session.paths.labels.read_bytes() == before


def test_several_videos_and_unknown_layout_are_refused(
    minimal_session: Path, tmp_path: Path
) -> None:
    path = tmp_path / "two.slp"
    shutil.copyfile(_slp(minimal_session, "back"), path)
    with h5py.File(path, "r+") as fh:
        videos = list(fh["videos_json"][()])
        del fh["videos_json"]
        fh["videos_json"] = np.array(videos * 2)
    with pytest.raises(Pose3dError, match="labels of 2 videos; pose3d imports one video"):
        read_slp(path)
    with h5py.File(path, "r+") as fh:
        meta = json.loads(fh["metadata"].attrs["json"])
        meta["skeletons"] = []
        fh["metadata"].attrs["json"] = json.dumps(meta)
        del fh["videos_json"]
        fh["videos_json"] = np.array(videos)
    with pytest.raises(Pose3dError, match="0 skeletons"):
        read_slp(path)


def test_cli_import_sleap(
    session: Session, minimal_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _slp(minimal_session, "side")
    argv = ["import", str(session.root), "--view", "side", str(path), "--as", "labels"]
    assert main(argv) == 0
    assert "120 frames" in capsys.readouterr().out
    source = load_labels(session.paths.labels)[s.SOURCE].sel({s.VIEW: "side"})
    assert int((source == s.PointSource.MANUAL).sum()) > 1500
    assert main(["import", str(session.root), "--view", "nope", str(path)]) == 2
    assert "no camera 'nope'" in capsys.readouterr().err
