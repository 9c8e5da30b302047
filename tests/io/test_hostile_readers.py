"""Label files from elsewhere are hostile: reading one never runs code, never reads another file,
and a malformed value is one clear message (DeepLabCut .h5 / .csv, SLEAP .slp / .analysis.h5).

Each crafted file carries a payload that touches a marker file when unpickled; the tests check
that pose3d refuses the file without running it, and that pandas (the old reader) does run it,
so the file is a live exploit and not a dud.
"""

from __future__ import annotations

import contextlib
import copyreg
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from pose3d.cli import main
from pose3d.errors import Pose3dError
from pose3d.io.dlc import read_dlc
from pose3d.io.netcdf import save_labels
from pose3d.io.pandas_hdf import plain_unpickle
from pose3d.io.sleap import read_analysis, read_slp
from pose3d.io.video_writing import write_video
from pose3d.labels import new_labels, set_point
from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.labels_io import export_session
from pose3d.pipeline.session import init_session
from pose3d.session import Session

KEYPOINTS = ("snout", "tailbase")
OPENFIELD = Path("dlc_labeled_examples/openfield-Pranav-2018-10-30/labeled-data/m4s1")


class Payload:
    """Pickles as a call of exec that creates ``marker``: what an attacker would put in a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).touch()",))


def _session(root: Path, videos: Sequence[str] = ("cam0.mp4",), n_frames: int = 12) -> Session:
    root.mkdir()
    cameras = {}
    for j, name in enumerate(videos):
        frames = (np.full((32, 32, 3), i * 10 % 256, np.uint8) for i in range(n_frames))
        cameras[f"cam{j}"] = write_video(root / name, frames, fps=30)
    return init_session(root, cameras, KEYPOINTS)


def _table(index: pd.Index | list[Any]) -> pd.DataFrame:
    """A DeepLabCut CollectedData table (scorer, bodyparts, coords) with one row per index."""
    columns = pd.MultiIndex.from_product(
        [["Pranav"], list(KEYPOINTS), ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    values = np.arange(len(index) * 4, dtype=np.float64).reshape(len(index), 4)
    return pd.DataFrame(values, index=index, columns=columns)


def _import(session: Session, path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`pose3d import` of ``path`` must fail with one line on stderr; returns that line."""
    code = main(["import", str(session.root), "--view", "cam0", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def _pandas_runs_it(path: Path, marker: Path) -> None:
    """The file is a live exploit: pandas' reader runs its payload."""
    assert not marker.exists()
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        pd.read_hdf(path, "df_with_missing")  # may fail after the payload ran
    assert marker.exists()


# --- DeepLabCut .h5: nothing is unpickled ----------------------------------------------------


def test_fixed_h5_with_pickled_row_index_does_not_run_its_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(tmp_path / "s")
    marker = tmp_path / "PAYLOAD_RAN"
    index = pd.Index([Payload(marker), "labeled-data/cam0/img1.png"], dtype=object)
    path = tmp_path / "CollectedData_Pranav.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns that it pickles the object index
        _table(index).to_hdf(path, key="df_with_missing", mode="w")
    err = _import(session, path, capsys)
    assert not marker.exists(), "the pickled payload ran on import"
    assert str(path) in err and "pickle" in err and "axis1" in err
    assert not session.paths.labels.exists()
    _pandas_runs_it(path, marker)


@pytest.mark.parametrize(
    ("where", "attr"),
    [("group", "non_index_axes"), ("group", "info"), ("table", "values_block_0_kind")],
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_table_h5_with_pickled_attribute_payload_does_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, attr: str, protocol: int
) -> None:
    """format="table" keeps the column labels in PyTables-pickled attributes: those are loaded
    by an unpickler that refuses every global, so a payload there is refused, not run."""
    session = _session(tmp_path / "s")
    marker = tmp_path / "PAYLOAD_RAN"
    path = tmp_path / "CollectedData_Pranav.h5"
    _table(["labeled-data/cam0/img1.png"]).to_hdf(
        path, key="df_with_missing", mode="w", format="table"
    )
    with h5py.File(path, "r+") as fh:
        node = fh["df_with_missing"] if where == "group" else fh["df_with_missing/table"]
        node.attrs[attr] = np.bytes_(pickle.dumps(Payload(marker), protocol=protocol))
    err = _import(session, path, capsys)
    assert not marker.exists(), "the pickled payload ran on import"
    assert str(path) in err and f"attribute {attr}" in err and "exec" in err
    _pandas_runs_it(path, marker)


def test_real_table_h5_reads_like_pandas(shared_data: Path) -> None:
    """The labels of a real DeepLabCut file come out of the restricted unpickler unchanged."""
    path = shared_data / OPENFIELD / "CollectedData_Pranav.h5"
    table = pd.read_hdf(path, "df_with_missing")
    points = read_dlc(path)
    assert points.keypoints == tuple(dict.fromkeys(table.columns.get_level_values("bodyparts")))
    np.testing.assert_array_equal(
        points.position[:, 0].reshape(len(table), -1), table.to_numpy(np.float64)
    )


_FRAMES = [3, 5, 9]
_PATHS = [f"labeled-data/cam0/img{i}.png" for i in _FRAMES]
_TUPLES = [("labeled-data", "cam0", f"img{i}.png") for i in _FRAMES]


@pytest.mark.parametrize(
    ("fmt", "index"),
    [
        ("fixed", _FRAMES),
        ("fixed", _PATHS),
        ("fixed", _TUPLES),  # pandas cannot write row and column MultiIndexes as a table
        ("table", _FRAMES),
        ("table", _PATHS),
    ],
    ids=["fixed-frames", "fixed-paths", "fixed-tuples", "table-frames", "table-paths"],
)
def test_plain_layouts_read_like_pandas(tmp_path: Path, fmt: str, index: list[Any]) -> None:
    path = tmp_path / "CollectedData_Pranav.h5"
    rows = pd.MultiIndex.from_tuples(index) if isinstance(index[0], tuple) else pd.Index(index)
    table = _table(rows)
    table.to_hdf(path, key="df_with_missing", mode="w", format=fmt)
    points = read_dlc(path)
    assert points.frames.tolist() == [3, 5, 9]
    np.testing.assert_array_equal(points.position.reshape(3, -1), table.to_numpy())


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_unpickle_builds_data_and_refuses_every_global(tmp_path: Path, protocol: int) -> None:
    data = [(1, ["Pranav", ("snout", "x")]), {"names": ["scorer", None]}, 2.5, True, None]
    assert plain_unpickle(pickle.dumps(data, protocol=protocol), "x") == data
    marker = tmp_path / "PAYLOAD_RAN"
    with pytest.raises(
        ValueError, match=r"pickle that names (__builtin__|builtins)\.exec; pose3d never runs"
    ):
        plain_unpickle(pickle.dumps([Payload(marker)], protocol=protocol), "attribute x")
    assert not marker.exists()


@pytest.mark.parametrize(
    "crafted",
    [
        b"cbuiltins\nexec\n(S'open(%r, \"w\").close()'\ntR.",  # GLOBAL + REDUCE
        b"(S'open(%r, \"w\").close()'\nibuiltins\nexec\n.",  # INST
        b"(cbuiltins\nexec\nS'open(%r, \"w\").close()'\no.",  # OBJ
        b"P0\n.",  # PERSID: an object outside the pickle
    ],
    ids=["global-reduce", "inst", "obj", "persid"],
)
def test_plain_unpickle_refuses_the_other_code_paths(tmp_path: Path, crafted: bytes) -> None:
    marker = tmp_path / "PAYLOAD_RAN"
    data = crafted.replace(b"%r", repr(str(marker)).encode()) if b"%r" in crafted else crafted
    with pytest.raises(ValueError, match="never runs a pickle"):
        plain_unpickle(data, "attribute x")
    assert not marker.exists()


def test_plain_unpickle_refuses_copyreg_extensions(tmp_path: Path) -> None:
    """EXT opcodes resolve a registered (module, name): they go through find_class too."""
    marker = tmp_path / "PAYLOAD_RAN"
    copyreg.add_extension("builtins", "exec", 0xF00)
    try:
        data = pickle.dumps(Payload(marker), protocol=2)
        assert b"\x83" in data or b"\x82" in data  # EXT2 / EXT1, not GLOBAL
        with pytest.raises(ValueError, match="never runs a pickle"):
            plain_unpickle(data, "attribute x")
    finally:
        copyreg.remove_extension("builtins", "exec", 0xF00)
    assert not marker.exists()


def test_h5_values_stored_as_pickles_are_refused(tmp_path: Path) -> None:
    """Object columns (pickled VLArray blocks) are never loaded either."""
    marker = tmp_path / "PAYLOAD_RAN"
    table = _table(["labeled-data/cam0/img1.png"]).astype(object)
    table.iloc[0, 0] = Payload(marker)
    path = tmp_path / "CollectedData_Pranav.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table.to_hdf(path, key="df_with_missing", mode="w")
    with pytest.raises(Pose3dError, match=r"block0_values holds .*pickle"):
        read_dlc(path)
    assert not marker.exists()


# --- DeepLabCut .csv: a cell that is not a number ---------------------------------------------


def test_csv_cell_that_is_not_a_number_names_row_and_column(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (shared_data / OPENFIELD / "CollectedData_Pranav.csv").read_text().splitlines()
    assert lines[5].startswith("labeled-data/m4s1/img0002.png,")
    cells = lines[5].split(",")
    cells[4] = "12.5px"  # (Pranav, leftear, y)
    lines[5] = ",".join(cells)
    path = tmp_path / "CollectedData_Pranav.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(Pose3dError) as info:
        read_dlc(path)
    message = str(info.value)
    assert str(path) in message and "'labeled-data/m4s1/img0002.png'" in message
    assert "(Pranav, leftear, y)" in message and "'12.5px'" in message
    assert "expected a coordinate in pixels" in message
    session = _session(tmp_path / "s", n_frames=120)
    err = _import(session, path, capsys)
    assert "12.5px" in err


@pytest.mark.parametrize("cell", ["1e300", "-inf", "inf"])
def test_csv_coordinate_no_image_has_is_refused(
    shared_data: Path, tmp_path: Path, cell: str
) -> None:
    lines = (shared_data / OPENFIELD / "CollectedData_Pranav.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[4] = cell  # img0002.png, (Pranav, leftear, y)
    lines[5] = ",".join(cells)
    path = tmp_path / "CollectedData_Pranav.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        Pose3dError, match=r"frame 2, keypoint 'leftear' of 'individual_0': y = .* px is not a"
    ):
        read_dlc(path)


def test_likelihood_outside_0_1_is_refused(tmp_path: Path) -> None:
    table = _table([0, 1])
    scorer = "DLC_resnet50"
    columns = [(scorer, part, c) for part in KEYPOINTS for c in ("x", "y", "likelihood")]
    pred = pd.DataFrame(
        np.full((2, 6), 0.5), columns=pd.MultiIndex.from_tuples(columns), index=table.index
    )
    pred.columns = pred.columns.set_names(["scorer", "bodyparts", "coords"])
    pred.iloc[1, 5] = 7.0  # tailbase likelihood, frame 1
    path = tmp_path / f"cam0{scorer}.h5"
    pred.to_hdf(path, key="df_with_missing", mode="w", format="table")
    with pytest.raises(Pose3dError, match=r"frame 1, keypoint 'tailbase'.*confidence 7 is outside"):
        read_dlc(path)


# --- any label file: not a regular file ------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a POSIX FIFO")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Run in a child process: a reader that opens the FIFO blocks forever (holding h5py's
    lock), which would hang the whole test run."""
    fifo = tmp_path / "CollectedData_Pranav.h5"
    os.mkfifo(fifo)
    code = "import sys; from pose3d.io.label_formats import reader_for; reader_for(sys.argv[1])"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("reading a FIFO blocked")
    assert done.returncode == 1 and "Pose3dError" in done.stderr
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in done.stderr


# --- SLEAP: no data from other files, malformed values are one message -----------------------


def _analysis(minimal_session: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cam.analysis.h5"
    shutil.copyfile(minimal_session / "back" / "minimal_back_proofread.analysis.h5", path)
    return path


def test_analysis_link_to_another_file_is_refused(minimal_session: Path, tmp_path: Path) -> None:
    path = _analysis(minimal_session, tmp_path)
    other = tmp_path / "elsewhere.h5"
    with h5py.File(path, "r+") as fh:
        tracks = fh["tracks"][()]
        del fh["tracks"]
        fh["tracks"] = h5py.ExternalLink(str(other), "/tracks")
    with h5py.File(other, "w") as fh:
        fh["tracks"] = tracks
    with pytest.raises(Pose3dError, match=r"cam\.analysis\.h5.*tracks is a link"):
        read_analysis(path)


def test_analysis_data_stored_in_an_outside_file_is_refused(
    minimal_session: Path, tmp_path: Path
) -> None:
    """A dataset may keep its bytes in any raw file (here a 'secret'): never read as points."""
    path = _analysis(minimal_session, tmp_path)
    secret = tmp_path / "secret.bin"
    with h5py.File(path, "r+") as fh:
        shape = fh["tracks"].shape
        secret.write_bytes(np.arange(np.prod(shape), dtype="<f8").tobytes())
        del fh["tracks"]
        fh.create_dataset(
            "tracks", shape, "<f8", external=[(str(secret), 0, secret.stat().st_size)]
        )
    with pytest.raises(Pose3dError, match=r"tracks keeps its data in other files"):
        read_analysis(path)


def test_analysis_with_mismatched_scores_is_one_message(
    minimal_session: Path, tmp_path: Path
) -> None:
    path = _analysis(minimal_session, tmp_path)
    with h5py.File(path, "r+") as fh:
        scores = fh["point_scores"][()]
        del fh["point_scores"]
        fh["point_scores"] = scores[:, :3]
    with pytest.raises(Pose3dError, match=r"point_scores has shape \(1, 3, 120\), expected"):
        read_analysis(path)
    with h5py.File(path, "r+") as fh:
        del fh["node_names"]
        fh["node_names"] = np.arange(15)
    with pytest.raises(Pose3dError, match="node_names holds int values, expected text"):
        read_analysis(path)


def test_analysis_scores_above_1_are_clipped(minimal_session: Path, tmp_path: Path) -> None:
    """SLEAP's scores are confidence-map peaks (real files hold 1.1): clipped, not refused."""
    path = _analysis(minimal_session, tmp_path)
    with h5py.File(path, "r+") as fh:
        fh["point_scores"][0, 0, :] = 1.5
    assert (read_analysis(path).confidence[:, 0, 0] == 1.0).all()


def _slp(minimal_session: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cam.slp"
    shutil.copyfile(minimal_session / "back" / "minimal_back_proofread.slp", path)
    return path


def _drop_field(fh: h5py.File, name: str, field: str) -> None:
    data = fh[name][()]
    keep = [f for f in data.dtype.names if f != field]
    del fh[name]
    fh[name] = data[keep]


@pytest.mark.parametrize(
    "damage",
    [
        lambda fh: _drop_field(fh, "instances", "track"),
        lambda fh: _drop_field(fh, "pred_points", "visible"),
        lambda fh: fh["metadata"].attrs.__setitem__("json", "[1, 2]"),
        lambda fh: fh["metadata"].attrs.__setitem__("json", "{not json"),
        lambda fh: fh["metadata"].attrs.__setitem__("format_id", "new"),
    ],
    ids=["no-track-field", "no-visible-field", "metadata-list", "metadata-not-json", "format-id"],
)
def test_malformed_slp_is_one_message(minimal_session: Path, tmp_path: Path, damage: Any) -> None:
    path = _slp(minimal_session, tmp_path)
    with h5py.File(path, "r+") as fh:
        damage(fh)
    with pytest.raises(Pose3dError, match=r"cam\.slp"):
        read_slp(path)


def test_slp_track_link_to_another_file_is_refused(minimal_session: Path, tmp_path: Path) -> None:
    path = _slp(minimal_session, tmp_path)
    with h5py.File(path, "r+") as fh:
        del fh["points"]
        fh["points"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/points")
    with pytest.raises(Pose3dError, match=r"cam\.slp.*points is a link"):
        read_slp(path)


# --- DeepLabCut export: names from data stay inside OUT --------------------------------------


def _labelled(session: Session) -> Session:
    labels = new_labels(12, session.camera_names, KEYPOINTS, session.individuals)
    for view in session.camera_names:
        labels = set_point(labels, 4, view, "snout", "individual_0", (1.5, 2.5))
    save_labels(session.paths.labels, labels)
    return session


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("scorer", "written"),
    [("a/b", "CollectedData_a_b.h5"), ("/abs/x", "CollectedData__abs_x.h5")],
)
def test_export_scorer_with_path_characters_is_one_file_name(
    tmp_path: Path, scorer: str, written: str
) -> None:
    session = _labelled(_session(tmp_path / "s"))
    before = _files(tmp_path)
    out = tmp_path / "out"
    paths = export_session(SessionFolder(session, write=False), "dlc", out, {"scorer": scorer})
    folder = out / "labeled-data" / "cam0"
    assert folder / written in paths and (folder / written).is_file()
    assert all(p.resolve().is_relative_to(out.resolve()) for p in paths)
    assert {p for p in _files(tmp_path) - before if not p.is_relative_to(out)} == set()
    back = read_dlc(folder / written)
    assert back.frames.tolist() == [4]


@pytest.mark.parametrize("scorer", ["../../x", "..", ".hidden", "-rf"])
def test_export_scorer_that_cannot_name_a_file_is_refused(tmp_path: Path, scorer: str) -> None:
    session = _labelled(_session(tmp_path / "s"))
    before = _files(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(Pose3dError, match=r"the scorer .* cannot name a file"):
        export_session(SessionFolder(session, write=False), "dlc", out, {"scorer": scorer})
    assert _files(tmp_path) == before


def test_export_video_named_parent_folder_is_refused(tmp_path: Path) -> None:
    """A video '...mp4' has the stem '..': labeled-data/.. would be OUT itself."""
    session = _labelled(_session(tmp_path / "s", videos=("...mp4",)))
    out = tmp_path / "out"
    with pytest.raises(Pose3dError, match=r"video name of camera cam0 '\.\.' cannot name a file"):
        export_session(SessionFolder(session, write=False), "dlc", out)
    assert not out.exists() or _files(out) == set()


def test_export_through_a_symlink_out_of_out_is_refused(tmp_path: Path) -> None:
    session = _labelled(_session(tmp_path / "s"))
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "labeled-data").symlink_to(elsewhere)
    with pytest.raises(Pose3dError, match=r"outside|link"):
        export_session(SessionFolder(session, write=False), "dlc", out)
    assert _files(elsewhere) == set()
