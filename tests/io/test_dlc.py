"""DeepLabCut import / export against the DLC demo projects in ../shared/data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pose3d import schema as s
from pose3d.cli import main
from pose3d.errors import Pose3dError
from pose3d.io.dlc import read_dlc
from pose3d.io.label_formats import (
    NameMap,
    load_name_map,
    reader_for,
)
from pose3d.io.netcdf import load_labels
from pose3d.io.video_reading import VideoReader
from pose3d.io.video_writing import write_video
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.labels_io import export_session
from pose3d.pipeline.session import init_session
from pose3d.session import Session
from tests.support.sessions import import_into

OPENFIELD = ("openfield-Pranav-2018-10-30", "m4s1", "Pranav")
REACHING = ("Reaching-Mackenzie-2018-08-30", "reachingvideo1", "Mackenzie")


def _collected(shared_data: Path, project: tuple[str, str, str], suffix: str) -> Path:
    name, video, scorer = project
    folder = shared_data / "dlc_labeled_examples" / name / "labeled-data" / video
    return folder / f"CollectedData_{scorer}{suffix}"


def _session(
    root: Path,
    keypoints: Sequence[str],
    n_frames: int,
    views: Sequence[str] = ("cam0",),
    individuals: Sequence[str] = ("individual_0",),
) -> Session:
    """A session whose videos show frame i as a uniform grey level i (32x32, 30 fps)."""
    root.mkdir()
    cameras = {}
    for view in views:
        frames = (np.full((32, 32, 3), i % 256, np.uint8) for i in range(n_frames))
        cameras[view] = write_video(root / f"{view}.mp4", frames, fps=30)
    return init_session(root, cameras, keypoints, individuals=individuals)


def _frame_table(path: Path) -> pd.DataFrame:
    return (
        pd.read_csv(path, header=[0, 1, 2], index_col=0)
        if path.suffix == ".csv"
        else (pd.read_hdf(path, "df_with_missing"))
    )


@pytest.mark.parametrize("project", [OPENFIELD, REACHING], ids=["openfield", "reaching"])
@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_read_old_style_index_matches_pandas(
    shared_data: Path, project: tuple[str, str, str], suffix: str
) -> None:
    path = _collected(shared_data, project, suffix)
    table = _frame_table(path)
    points = reader_for(path).read(path)  # type: ignore[misc]
    assert points.frames.tolist() == [int(Path(p).stem[3:]) for p in table.index]
    bodyparts = list(dict.fromkeys(table.columns.get_level_values("bodyparts")))
    assert points.keypoints == tuple(bodyparts)
    for k, part in enumerate(bodyparts):
        for c, coord in enumerate("xy"):
            expected = table[(project[2], part, coord)].to_numpy()
            np.testing.assert_array_equal(points.position[:, 0, k, c], expected)
    assert np.isnan(points.position).sum() == table.isna().sum().sum()
    assert points.manual.all()


def test_csv_and_h5_agree(shared_data: Path) -> None:
    a = read_dlc(_collected(shared_data, REACHING, ".h5"))
    b = read_dlc(_collected(shared_data, REACHING, ".csv"))
    np.testing.assert_allclose(a.position, b.position, rtol=0, atol=1e-9)
    assert np.array_equal(np.isnan(a.position), np.isnan(b.position))


def test_new_style_multiindex_index_reads_like_old(shared_data: Path, tmp_path: Path) -> None:
    old = _collected(shared_data, REACHING, ".h5")
    table = pd.read_hdf(old, "df_with_missing")
    table.index = pd.MultiIndex.from_tuples([tuple(p.split("/")) for p in table.index])
    new_h5, new_csv = tmp_path / "CollectedData_Mackenzie.h5", tmp_path / "CollectedData_M.csv"
    table.to_hdf(new_h5, key="df_with_missing", mode="w")
    table.to_csv(new_csv)
    expected = read_dlc(old)
    for path in (new_h5, new_csv):
        got = read_dlc(path)
        assert got.frames.tolist() == expected.frames.tolist()
        np.testing.assert_allclose(got.position, expected.position, rtol=0, atol=1e-9)
        assert np.array_equal(np.isnan(got.position), np.isnan(expected.position))


def test_import_writes_manual_points_and_keeps_nans(shared_data: Path, tmp_path: Path) -> None:
    path = _collected(shared_data, REACHING, ".h5")
    points = read_dlc(path)
    session = _session(tmp_path / "s", points.keypoints, 250, views=("cam0", "cam1"))
    report = import_into(session, "cam1", path)
    labels = load_labels(session.paths.labels)
    view = labels.sel({s.VIEW: "cam1", s.INDIVIDUAL: "individual_0"})
    got = view[s.POSITION].sel({s.TIME: points.frames}).transpose(s.TIME, s.KEYPOINT, s.SPACE)
    np.testing.assert_array_equal(got.values, points.position[:, 0])
    source = view[s.SOURCE].sel({s.TIME: points.frames}).values  # (F, K)
    finite = np.isfinite(points.position[:, 0]).all(-1)
    assert (source[finite] == s.PointSource.MANUAL).all()
    assert (source[~finite] == s.PointSource.NONE).all()
    assert int((view[s.SOURCE] != 0).sum()) == finite.sum() == report.manual
    assert int((labels.sel({s.VIEW: "cam0"})[s.SOURCE] != 0).sum()) == 0
    assert report.imported == 0 and report.frames == len(points.frames)


def test_frame_offset_moves_session_frames(shared_data: Path, tmp_path: Path) -> None:
    path = _collected(shared_data, OPENFIELD, ".h5")
    points = read_dlc(path)
    session = _session(tmp_path / "s", points.keypoints, 120).with_offsets({"cam0": 3})
    from pose3d.labels import new_labels

    labels = new_labels(130, session.camera_names, points.keypoints, session.individuals)
    from pose3d.io.netcdf import save_labels

    save_labels(session.paths.labels, labels)
    import_into(session, "cam0", path)
    got = load_labels(session.paths.labels)[s.POSITION].sel(
        {s.VIEW: "cam0", s.KEYPOINT: "snout", s.SPACE: "x", s.INDIVIDUAL: "individual_0"}
    )
    np.testing.assert_array_equal(got.sel({s.TIME: points.frames + 3}), points.position[:, 0, 0, 0])
    assert np.isnan(got.sel({s.TIME: [0, 1, 2]})).all()


def test_export_reads_back_identical(shared_data: Path, tmp_path: Path) -> None:
    original = _collected(shared_data, REACHING, ".h5")
    points = read_dlc(original)
    session = _session(tmp_path / "s", points.keypoints, 250)
    import_into(session, "cam0", original)
    out = tmp_path / "dlc_project"
    opened = SessionFolder(session, write=False)
    written = export_session(opened, "dlc", out, {"scorer": "Mackenzie"})
    folder = out / "labeled-data" / "cam0"
    h5, csv = folder / "CollectedData_Mackenzie.h5", folder / "CollectedData_Mackenzie.csv"
    assert h5 in written and csv in written
    pngs = sorted(folder.glob("img*.png"))
    assert [p.name for p in pngs] == [f"img{f:03d}.png" for f in points.frames]
    # DeepLabCut's layout: key df_with_missing, scorer/bodyparts/coords, 3-level row index
    table = pd.read_hdf(h5, "df_with_missing")
    source = pd.read_hdf(original, "df_with_missing")
    assert table.columns.equals(source.columns)
    assert list(table.index) == [("labeled-data", "cam0", p.name) for p in pngs]
    np.testing.assert_array_equal(table.to_numpy(), source.to_numpy())
    from_csv = pd.read_csv(csv, header=[0, 1, 2], index_col=[0, 1, 2])
    np.testing.assert_allclose(from_csv.to_numpy(), table.to_numpy(), rtol=0, atol=1e-9)
    # the images are the session's frames
    import cv2

    with VideoReader(session.video_path("cam0")) as reader:
        for png, frame in zip(pngs[:3], points.frames[:3], strict=True):
            image = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(image, reader.read(int(frame)))
    # read back: same points, and a fresh session importing it gets the same labels.nc
    for path in (h5, csv):
        back = read_dlc(path)
        assert back.frames.tolist() == points.frames.tolist()
        np.testing.assert_allclose(back.position, points.position, rtol=0, atol=1e-9)
        assert np.array_equal(np.isnan(back.position), np.isnan(points.position))
    again = _session(tmp_path / "s2", points.keypoints, 250)
    import_into(again, "cam0", h5)
    a, b = load_labels(session.paths.labels), load_labels(again.paths.labels)
    for var in (s.POSITION, s.CONFIDENCE, s.SOURCE, s.REVIEW):
        np.testing.assert_array_equal(a[var].values, b[var].values)


def test_export_several_individuals_uses_multi_animal_columns(tmp_path: Path) -> None:
    session = _session(tmp_path / "s", ["nose", "tail"], 20, individuals=["a", "b"])
    from pose3d.io.netcdf import save_labels
    from pose3d.labels import new_labels, set_point

    labels = new_labels(20, session.camera_names, ["nose", "tail"], ["a", "b"])
    labels = set_point(labels, 4, "cam0", "nose", "a", (1.5, 2.5))
    labels = set_point(labels, 4, "cam0", "tail", "b", (7.0, 8.0))
    labels = set_point(labels, 11, "cam0", "tail", "a", (3.0, 4.0))
    save_labels(session.paths.labels, labels)
    out = tmp_path / "out"
    export_session(SessionFolder(session, write=False), "dlc", out)
    h5 = out / "labeled-data" / "cam0" / "CollectedData_pose3d.h5"
    table = pd.read_hdf(h5, "df_with_missing")
    assert list(table.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert table.loc[("labeled-data", "cam0", "img04.png"), ("pose3d", "b", "tail", "x")] == 7.0
    back = read_dlc(h5)
    assert back.individuals == ("a", "b") and back.frames.tolist() == [4, 11]
    again = _session(tmp_path / "s2", ["nose", "tail"], 20, individuals=["a", "b"])
    import_into(again, "cam0", h5)
    np.testing.assert_array_equal(
        load_labels(again.paths.labels)[s.POSITION].values, labels[s.POSITION].values
    )


def test_hidden_marks_export_as_nan_and_dlc_imports_none(tmp_path: Path) -> None:
    """DeepLabCut has no hidden state: a hidden keypoint is a NaN cell of a labelled frame (as a
    DeepLabCut labeller leaves an occluded part), and a frame holding only hidden marks is
    exported too (every keypoint labelled not visible); reading back gives NaN, never hidden."""
    from pose3d.io.netcdf import save_labels
    from pose3d.labels import new_labels, set_hidden, set_point

    session = _session(tmp_path / "s", ["nose", "tail"], 20)
    labels = new_labels(20, session.camera_names, ["nose", "tail"], ["individual_0"])
    labels = set_point(labels, 4, "cam0", "nose", "individual_0", (1.5, 2.5))
    labels = set_hidden(labels, 4, "cam0", "tail", "individual_0")
    labels = set_hidden(labels, 9, "cam0", "nose", "individual_0")
    labels = set_hidden(labels, 12, "cam0", "tail", "individual_0", s.PointSource.TRACKED)
    save_labels(session.paths.labels, labels)
    out = tmp_path / "out"
    export_session(SessionFolder(session, write=False), "dlc", out)
    h5 = out / "labeled-data" / "cam0" / "CollectedData_pose3d.h5"
    table = pd.read_hdf(h5, "df_with_missing")
    assert [row[-1] for row in table.index] == ["img04.png", "img09.png"]  # manual frames only
    assert table.loc[("labeled-data", "cam0", "img04.png"), ("pose3d", "nose", "x")] == 1.5
    assert np.isnan(table.loc[("labeled-data", "cam0", "img04.png"), ("pose3d", "tail")]).all()
    assert np.isnan(table.loc[("labeled-data", "cam0", "img09.png")].to_numpy()).all()
    back = read_dlc(h5)
    assert not back.hidden.any() and back.hidden.shape == back.confidence.shape
    again = _session(tmp_path / "s2", ["nose", "tail"], 20)
    import_into(again, "cam0", h5)
    loaded = load_labels(again.paths.labels)
    assert not loaded[s.HIDDEN].values.any()
    assert int((loaded[s.SOURCE].values != 0).sum()) == 1  # the one point


def test_predictions_import_as_prelabels_with_likelihood(shared_data: Path, tmp_path: Path) -> None:
    table = pd.read_hdf(_collected(shared_data, OPENFIELD, ".h5"), "df_with_missing")
    frames = [int(Path(p).stem[3:]) for p in table.index]
    parts = list(dict.fromkeys(table.columns.get_level_values("bodyparts")))
    scorer = "DLC_resnet50_openfieldOct30shuffle1_1000"
    rng = np.random.default_rng(0)
    likelihood = rng.uniform(0, 1, (len(frames), len(parts)))
    data = {}
    for k, part in enumerate(parts):
        data[(scorer, part, "x")] = table[("Pranav", part, "x")].to_numpy()
        data[(scorer, part, "y")] = table[("Pranav", part, "y")].to_numpy()
        data[(scorer, part, "likelihood")] = likelihood[:, k]
    pred = pd.DataFrame(data, index=frames)
    pred.columns = pred.columns.set_names(["scorer", "bodyparts", "coords"])
    path = tmp_path / f"m4s1{scorer}.h5"
    pred.to_hdf(path, key="df_with_missing", format="table", mode="w")
    session = _session(tmp_path / "s", ["nose", "leftear", "rightear", "tailbase"], 120)
    report = import_into(session, "cam0", path, name_map=NameMap({"snout": "nose"}))
    assert report.imported == len(frames) * len(parts) and report.manual == 0
    view = load_labels(session.paths.labels).sel({s.VIEW: "cam0", s.INDIVIDUAL: "individual_0"})
    conf = view[s.CONFIDENCE].sel({s.TIME: frames, s.KEYPOINT: ["nose", *parts[1:]]}).values
    np.testing.assert_allclose(conf, likelihood)
    assert (view[s.SOURCE].sel({s.TIME: frames}) == s.PointSource.IMPORTED).all()


def test_mapping_table_renames_and_ignores(shared_data: Path, tmp_path: Path) -> None:
    table = tmp_path / "map.toml"
    table.write_text(
        'ignore = ["Joystick1", "Joystick2"]\n[keypoints]\nHand = "hand"\nFinger1 = "finger"\n'
        'Tongue = "tongue"\n'
    )
    session = _session(tmp_path / "s", ["hand", "finger", "tongue"], 250)
    path = _collected(shared_data, REACHING, ".csv")
    import_into(session, "cam0", path, name_map=load_name_map(table))
    points = read_dlc(path)
    got = load_labels(session.paths.labels)[s.POSITION].sel(
        {s.VIEW: "cam0", s.INDIVIDUAL: "individual_0", s.TIME: points.frames}
    )
    np.testing.assert_array_equal(
        got.transpose(s.TIME, s.KEYPOINT, s.SPACE).values, points.position[:, 0, :3]
    )


# --- bad input: clear message, labels.nc untouched ------------------------------------------


@pytest.fixture
def labelled(shared_data: Path, tmp_path: Path) -> tuple[Session, bytes]:
    """A session (openfield skeleton, 120 frames) whose labels.nc already holds the openfield
    labels; returns it with labels.nc's bytes."""
    path = _collected(shared_data, OPENFIELD, ".h5")
    session = _session(tmp_path / "s", ["snout", "leftear", "rightear", "tailbase"], 120)
    import_into(session, "cam0", path)
    return session, session.paths.labels.read_bytes()


def test_other_skeleton_lists_unknown_keypoints(
    shared_data: Path, labelled: tuple[Session, bytes]
) -> None:
    session, before = labelled
    with pytest.raises(Pose3dError, match=r"Hand, Finger1, Tongue, Joystick1, Joystick2.*--map"):
        import_into(session, "cam0", _collected(shared_data, REACHING, ".h5"))
    assert session.paths.labels.read_bytes() == before


def test_frames_missing_from_video_are_refused(
    shared_data: Path, tmp_path: Path, labelled: tuple[Session, bytes]
) -> None:
    session, before = labelled
    table = pd.read_hdf(_collected(shared_data, OPENFIELD, ".h5"), "df_with_missing")
    table.index = [p.replace("img0115", "img0500") for p in table.index]
    path = tmp_path / "CollectedData_Pranav.h5"
    table.to_hdf(path, key="df_with_missing", mode="w")
    with pytest.raises(Pose3dError, match=r"frames 500 .*frames 0-119; nothing was imported"):
        import_into(session, "cam0", path)
    assert session.paths.labels.read_bytes() == before


@pytest.mark.parametrize("cut", [0.5, 0.0])
def test_corrupt_h5_is_refused(
    shared_data: Path, tmp_path: Path, labelled: tuple[Session, bytes], cut: float
) -> None:
    session, before = labelled
    data = _collected(shared_data, OPENFIELD, ".h5").read_bytes()
    path = tmp_path / "CollectedData_Pranav.h5"
    path.write_bytes(data[: int(len(data) * cut)] if cut else b"not an hdf5 file" * 10)
    with pytest.raises(Pose3dError, match=str(path).replace(".", r"\.") + ".*"):
        import_into(session, "cam0", path)
    assert session.paths.labels.read_bytes() == before


def test_labels_onto_manual_points_are_refused_prelabels_keep_them(
    shared_data: Path, tmp_path: Path, labelled: tuple[Session, bytes]
) -> None:
    session, before = labelled
    original = _collected(shared_data, OPENFIELD, ".h5")
    first = load_labels(session.paths.labels)
    import_into(session, "cam0", original)  # identical points: a no-op re-import
    again = load_labels(session.paths.labels)
    for var in (s.POSITION, s.CONFIDENCE, s.SOURCE):
        np.testing.assert_array_equal(again[var].values, first[var].values)
    table = pd.read_hdf(original, "df_with_missing")
    table = table + 5.0
    moved = tmp_path / "CollectedData_Pranav.h5"
    table.to_hdf(moved, key="df_with_missing", mode="w")
    snapshot = session.paths.labels.read_bytes()
    with pytest.raises(Pose3dError, match=r"would replace manual points.*--as prelabels"):
        import_into(session, "cam0", moved)
    assert session.paths.labels.read_bytes() == snapshot
    report = import_into(session, "cam0", moved, as_="prelabels")
    assert report.kept == 464 and report.imported == 0
    after = load_labels(session.paths.labels)
    assert (after[s.SOURCE].sel({s.VIEW: "cam0"}).values != s.PointSource.IMPORTED).all()
    np.testing.assert_array_equal(
        after[s.POSITION].sel({s.TIME: 0, s.VIEW: "cam0", s.KEYPOINT: "snout", s.SPACE: "x"}),
        [table.iloc[0, 0] - 5.0],
    )
    assert before  # labels.nc existed before the refused import


def test_cli_import_export_and_error(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(tmp_path / "s", ["snout", "leftear", "rightear", "tailbase"], 120)
    path = _collected(shared_data, OPENFIELD, ".csv")
    assert main(["import", str(session.root), "--view", "cam0", str(path)]) == 0
    assert "116 frames, 464 manual points" in capsys.readouterr().out
    before = session.paths.labels.read_bytes()
    bad = _collected(shared_data, REACHING, ".csv")
    assert main(["import", str(session.root), "--view", "cam0", str(bad), "--as", "labels"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Hand" in err and len(err.strip().splitlines()) == 1
    assert session.paths.labels.read_bytes() == before
    out = tmp_path / "out"
    assert main(["export", str(session.root), "--format", "dlc", "--scorer", "P", str(out)]) == 0
    assert (out / "labeled-data" / "cam0" / "CollectedData_P.h5").is_file()
    assert main(["export", str(session.root), "--format", "sleap", str(out)]) == 2
    assert "pose3d exports to dlc, anipose, movement, nwb" in capsys.readouterr().err


def test_failed_first_import_creates_no_labels_file(shared_data: Path, tmp_path: Path) -> None:
    session = _session(tmp_path / "s", ["snout", "leftear", "rightear", "tailbase"], 50)
    with pytest.raises(Pose3dError, match=r"frames 50, 51, .*\(66 frames\).*frames 0-49"):
        import_into(session, "cam0", _collected(shared_data, OPENFIELD, ".h5"))
    assert not session.paths.labels.exists()
    assert not any(p.name.endswith(".tmp") for p in session.root.iterdir())


def test_unknown_file_lists_supported_formats(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text("{}")
    with pytest.raises(Pose3dError, match=r"labels\.json is not a label file.*dlc \(\*\.h5"):
        reader_for(path)
    text = tmp_path / "other.csv"
    text.write_text("frame,x,y\n0,1,2\n")
    with pytest.raises(Pose3dError, match="tried as dlc: its first row does not start with"):
        reader_for(text)
