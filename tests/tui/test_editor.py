"""The label editor: placement, nudge, delete, undo / redo, cursor, autosave to labels.nc."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError, SessionError, SessionLockedError
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import load_labels
from pose3d.label_cells import Cell
from pose3d.labels import new_labels
from pose3d.tui.state.editor import LabelEditor
from pose3d.tui.state.workspace import Workspace

KEYPOINTS = ("nose", "ear", "tail")


class _Recorder:
    """A saver that keeps what the editor hands it."""

    def __init__(self, saved: list | None) -> None:
        self.saved = saved if saved is not None else []
        self.whole = 0

    def record(self, labels: xr.Dataset, cell: Cell, state: dict) -> None:
        self.saved.append((cell, state))

    def record_all(self, labels: xr.Dataset) -> None:
        self.whole += 1


def _editor(saved: list | None = None) -> LabelEditor:
    labels = new_labels(5, ["cam0", "cam1"], KEYPOINTS, ["a", "b"])
    return LabelEditor(labels, _Recorder(saved))


def test_place_current_writes_a_manual_point_and_advances() -> None:
    saved: list = []
    editor = _editor(saved)
    editor.move_to(frame=2, view="cam1")
    editor.place_current((10.0, 20.5))
    cell = Cell(2, "cam1", "nose", "a")
    assert editor.point(cell) == (10.0, 20.5)
    assert editor.source(cell) == s.PointSource.MANUAL
    assert editor.cursor == Cell(2, "cam1", "ear", "a")
    assert len(saved) == 1  # saved after the edit: the cell and its new state
    assert saved[-1][0] == cell
    assert saved[-1][1][s.POSITION].tolist() == [10.0, 20.5]
    assert saved[-1][1][s.SOURCE] == s.PointSource.MANUAL
    editor.place_current((1, 1))
    editor.place_current((2, 2))
    assert editor.cursor.keypoint == "tail"  # stays on the last keypoint
    editor.next_keypoint(-1)
    assert editor.cursor.keypoint == "ear"


def test_nudge_delete_undo_redo_restore_cells_exactly() -> None:
    editor = _editor()
    labels = editor.labels
    cell = Cell(0, "cam0", "ear", "b")
    # a tracked, flagged point: nudging makes it manual and clears the flag
    where = {"time": 0, "view": "cam0", "keypoint": "ear", "individual": "b"}
    labels[s.POSITION].loc[where] = [5, 6]
    labels[s.SOURCE].loc[where] = 2
    labels[s.REVIEW].loc[where] = True
    editor.nudge(1, -10, cell)
    assert editor.point(cell) == (6.0, -4.0)
    assert editor.source(cell) == s.PointSource.MANUAL
    assert not bool(editor.labels[s.REVIEW].values[0, 0, 1, 1])
    editor.delete(cell)
    assert editor.point(cell) is None and editor.source(cell) == s.PointSource.NONE
    assert editor.delete(cell) is None  # nothing left to delete: no edit
    editor.undo()
    assert editor.point(cell) == (6.0, -4.0)
    editor.undo()  # back to the tracked, flagged point
    assert editor.point(cell) == (5.0, 6.0)
    assert editor.source(cell) == s.PointSource.TRACKED
    assert bool(editor.labels[s.REVIEW].values[0, 0, 1, 1])
    assert editor.undo() is None and not editor.can_undo
    editor.redo()
    editor.redo()
    assert editor.point(cell) is None
    assert editor.redo() is None
    editor.undo()
    editor.place((1, 2), Cell(1, "cam0", "nose", "a"))  # a new edit drops the redo stack
    assert not editor.can_redo
    assert editor.nudge(1, 1, Cell(4, "cam1", "tail", "a")) is None  # no point to nudge


def test_accepting_a_flagged_point_clears_its_run_in_one_undoable_edit() -> None:
    from pose3d.labels import set_point

    editor = _editor([])
    for frame in (1, 2, 3, 4):
        cell = Cell(frame, "cam0", "ear", "b")
        set_point(editor.labels, *cell.__dict__.values(), (5.0, frame), s.PointSource.TRACKED,
                  confidence=0.3, inplace=True)  # fmt: skip
    t, v, k, i = [1, 2, 3, 4], 0, 1, 1  # the cells of cam0, ear, b
    editor.labels[s.REVIEW].values[t, v, k, i] = True  # a run of flags (a tool set them)
    assert editor.accept(Cell(2, "cam0", "ear", "b")) is not None
    assert not editor.labels[s.REVIEW].values.any()
    assert editor.source(Cell(2, "cam0", "ear", "b")) == s.PointSource.MANUAL
    editor.undo()
    assert editor.labels[s.REVIEW].values[t, v, k, i].all()
    assert editor.source(Cell(2, "cam0", "ear", "b")) == s.PointSource.TRACKED


def test_accept_and_hide_are_undoable_edits_of_one_cell() -> None:
    from pose3d.labels import set_point

    saved: list = []
    editor = _editor(saved)
    cell = Cell(1, "cam0", "ear", "b")
    set_point(editor.labels, *cell.__dict__.values(), (5.0, 6.0), s.PointSource.TRACKED,
              confidence=0.3, inplace=True)  # fmt: skip
    assert editor.accept(cell) is not None
    assert editor.point(cell) == (5.0, 6.0) and editor.source(cell) == s.PointSource.MANUAL
    assert editor.accept(cell) is None  # a manual point is accepted already
    assert editor.accept(Cell(1, "cam0", "nose", "b")) is None  # no point to accept
    assert editor.hide(cell) is not None
    assert editor.hidden(cell) and editor.point(cell) is None
    assert editor.source(cell) == s.PointSource.MANUAL
    assert editor.hide(cell) is None  # said already
    assert saved[-1][1][s.HIDDEN]  # the journal gets the mark
    editor.undo()
    assert not editor.hidden(cell) and editor.point(cell) == (5.0, 6.0)
    editor.undo()
    assert editor.source(cell) == s.PointSource.TRACKED
    assert editor.labels[s.CONFIDENCE].values[1, 0, 1, 1] == pytest.approx(0.3)
    editor.redo()
    editor.redo()
    assert editor.hidden(cell)


def test_cursor_checks_names_and_cycles_individuals() -> None:
    editor = _editor()
    editor.next_individual()
    assert editor.cursor.individual == "b"
    editor.next_individual()
    assert editor.cursor.individual == "a"
    with pytest.raises(Pose3dError, match="unknown view 'cam9'"):
        editor.move_to(view="cam9")
    with pytest.raises(Pose3dError, match="frame 5 is outside"):
        editor.move_to(frame=5)


def test_workspace_autosaves_every_edit_and_holds_the_lock(session_dir: Path) -> None:
    with Workspace(session_dir) as ws:
        assert not ws.session.paths.labels.exists()  # nothing written before the first edit
        assert ws.n_frames == 14  # cam2 (12 frames, offset 2) ends at session frame 13
        with pytest.raises(SessionLockedError):
            SessionLock(session_dir).acquire()
        ws.editor.move_to(frame=0, view="cam0")
        ws.editor.place_current((12.0, 34.0))
        ws.flush()  # the save runs in the background; the next edit (or flush) waits for it
        on_disk = load_labels(ws.session.paths.labels)
        point = on_disk[s.POSITION].sel(time=0, view="cam0", keypoint="nose").values[:, 0]
        assert point.tolist() == [12.0, 34.0]
        ws.editor.undo()
        ws.flush()
        on_disk = load_labels(ws.session.paths.labels)
        assert np.isnan(on_disk[s.POSITION].sel(time=0, view="cam0", keypoint="nose").values).all()
    with SessionLock(session_dir):  # released on close
        pass
    with Workspace(session_dir) as ws:  # reopening reads the saved labels
        assert ws.editor.point(Cell(0, "cam0", "nose", "individual_0")) is None


def test_a_read_only_workspace_opens_a_locked_session_and_changes_nothing(
    session_dir: Path,
) -> None:
    """--read-only: no lock is taken (a session another pose3d edits can be looked at); every
    edit, a tool's included, is refused with the reason, and labels.nc stays as it was."""
    from pose3d.io.netcdf import save_labels
    from pose3d.io.session_toml import load_session
    from pose3d.labels import set_point

    keypoints = load_session(session_dir).skeleton.keypoints
    labels = set_point(
        new_labels(14, ["cam0", "cam1", "cam2"], keypoints, ["individual_0"]),
        3, "cam1", "neck", "individual_0", (5.0, 6.0),
    )  # fmt: skip
    save_labels(session_dir / "labels.nc", labels)
    before = (session_dir / "labels.nc").read_bytes()
    with SessionLock(session_dir), Workspace(session_dir, read_only=True) as ws:
        assert ws.editor.point(Cell(3, "cam1", "neck", "individual_0")) == (5.0, 6.0)
        for edit in (
            lambda: ws.editor.place_current((1.0, 2.0)),
            lambda: ws.editor.hide(),
            lambda: ws.editor.apply(ws.editor.snapshot().copy(deep=True).fillna(0.0)),
            lambda: ws.refuse_when_read_only("propagate"),
        ):
            with pytest.raises(SessionError, match="read-only"):
                edit()
        assert ws.editor.point() is None and ws.editor.undo_depth == 0
        ws.flush()
    assert (session_dir / "labels.nc").read_bytes() == before


def test_labels_of_other_cameras_are_refused_with_advice(session_dir: Path) -> None:
    from pose3d.io.netcdf import save_labels

    save_labels(session_dir / "labels.nc", new_labels(14, ["cam0", "camX"], KEYPOINTS, ["a"]))
    with pytest.raises(Pose3dError, match="views cam0, camX but the session's cameras"):
        Workspace(session_dir)
    with SessionLock(session_dir):  # nothing stays locked after the failure
        pass


def test_each_edit_is_journaled_at_once_and_labels_nc_rewritten_after_a_pause(
    session_dir: Path,
) -> None:
    import time

    from pose3d.io.label_journal import journal_path

    path = session_dir / "labels.nc"
    with Workspace(session_dir) as ws:
        ws.editor.move_to(frame=0, view="cam0")
        ws.editor.place_current((1.0, 2.0))  # new labels: the first edit writes labels.nc
        assert path.is_file() and not journal_path(path).exists()
        written = path.stat().st_mtime_ns
        ws.editor.place_current((3.0, 4.0))
        first, second = ws.editor.keypoints[:2]
        ws.editor.nudge(1, 0, Cell(0, "cam0", first, "individual_0"))
        assert ws.saver.journal.lines == 2  # on disk before the edits returned
        assert path.stat().st_mtime_ns == written  # labels.nc waits for a pause
        on_disk = load_labels(path)  # readers see the journal's edits
        assert on_disk[s.POSITION].sel(time=0, view="cam0").values[:, :2, 0].T.tolist() == [
            [2.0, 2.0],
            [3.0, 4.0],
        ]
        deadline = time.monotonic() + 10
        while journal_path(path).exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the background writer, ~1 s after the last edit
        assert not journal_path(path).exists()
        assert ws.saver.writes == 2  # the first edit's whole write, then one in the background
        ws.editor.delete(Cell(0, "cam0", second, "individual_0"))
        assert ws.saver.journal.lines == 1


def test_a_journal_left_by_a_crash_is_folded_into_labels_nc_on_open(session_dir: Path) -> None:
    from pose3d.io.label_journal import LabelJournal, journal_path

    path = session_dir / "labels.nc"
    with Workspace(session_dir) as ws:
        ws.editor.move_to(frame=3, view="cam1")
        ws.editor.place_current((5.0, 6.0))
        labels = ws.editor.labels
        first, last = ws.editor.keypoints[0], ws.editor.keypoints[-1]
    journal = LabelJournal(journal_path(path))  # what a killed TUI left: one journaled edit
    cell = {s.TIME: 4, s.VIEW: "cam1", s.KEYPOINT: last, s.INDIVIDUAL: "individual_0"}
    state = {name: labels[name].sel(cell).values.copy() for name in labels.data_vars}
    state[s.POSITION][:] = (7.0, 8.0)
    state[s.SOURCE] = s.PointSource.MANUAL
    journal.append(4, "cam1", last, "individual_0", state)
    with Workspace(session_dir) as ws:
        assert not journal.path.exists()  # folded into labels.nc at once
        assert ws.editor.point(Cell(4, "cam1", last, "individual_0")) == (7.0, 8.0)
        assert ws.editor.point(Cell(3, "cam1", first, "individual_0")) == (5.0, 6.0)
    raw = xr.open_dataset(path, engine="h5netcdf").load()  # the file itself, no journal
    assert raw[s.POSITION].sel(cell).values.tolist() == [7.0, 8.0]


def test_an_orphan_journal_without_labels_nc_is_dropped_at_the_first_edit(
    session_dir: Path,
) -> None:
    from pose3d.io.label_journal import journal_path

    orphan = journal_path(session_dir / "labels.nc")
    line = '{"frame": 0, "view": "cam0", "keypoint": "x", "individual": "y", "state": {}}\n'
    orphan.write_text(line * 2)  # labels.nc was moved aside, its journal left behind
    with Workspace(session_dir) as ws:
        ws.editor.move_to(frame=0, view="cam0")
        ws.editor.place_current((1.0, 2.0))  # writes labels.nc whole, drops the orphan
        assert not orphan.exists() and ws.saver.journal.lines == 0
        ws.editor.place_current((3.0, 4.0))
        assert ws.saver.journal.lines == 1
        assert len(orphan.read_text().splitlines()) == 1
    labels = load_labels(session_dir / "labels.nc")
    assert int((labels[s.SOURCE].values == s.PointSource.MANUAL).sum()) == 2


def test_copy_frame_copies_one_individual_as_manual_labels_in_one_edit() -> None:
    """SLEAP's copy instance: the previous frame's points and hidden marks of this view and
    individual become manual labels here; a label a person made here stays; one undo."""
    from pose3d.labels import set_hidden, set_point

    labels = new_labels(5, ["cam0", "cam1"], KEYPOINTS, ["a", "b"])
    labels = set_point(labels, 1, "cam0", "nose", "a", (5.0, 6.0), s.PointSource.TRACKED)
    labels = set_hidden(labels, 1, "cam0", "ear", "a")
    labels = set_point(labels, 1, "cam0", "tail", "a", (7.0, 8.0))
    labels = set_point(labels, 1, "cam0", "tail", "b", (70.0, 80.0))  # another individual
    labels = set_point(labels, 1, "cam1", "nose", "a", (50.0, 60.0))  # another view
    labels = set_point(labels, 2, "cam0", "tail", "a", (9.0, 9.0))  # labelled here: kept
    editor = LabelEditor(labels, _Recorder(None))
    editor.move_to(frame=2, view="cam0", keypoint="ear", individual="a")
    edit = editor.copy_frame(1)
    assert edit is not None and editor.undo_depth == 1
    here = Cell(2, "cam0", "nose", "a")
    assert editor.point(here) == (5.0, 6.0) and editor.source(here) == s.PointSource.MANUAL
    ear = Cell(2, "cam0", "ear", "a")
    assert editor.hidden(ear) and editor.source(ear) == s.PointSource.MANUAL
    assert editor.point(Cell(2, "cam0", "tail", "a")) == (9.0, 9.0)
    assert editor.point(Cell(2, "cam0", "tail", "b")) is None
    assert editor.point(Cell(2, "cam1", "nose", "a")) is None
    assert editor.copy_frame(1) is None  # nothing left to copy: all manual here now
    editor.undo()
    assert editor.point(here) is None and not editor.hidden(ear)
    assert editor.point(Cell(2, "cam0", "tail", "a")) == (9.0, 9.0)
