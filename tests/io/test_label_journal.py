"""The edit journal beside labels.nc: replayed by load_labels, dropped by a complete save."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.errors import SchemaError
from pose3d.io.label_journal import LabelJournal, apply_journal, journal_path
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.labels import new_labels, set_hidden, set_point

VIEWS, KEYPOINTS, INDIVIDUALS = ["cam0", "cam1"], ["nose", "tail"], ["a", "b"]


def _state(labels, frame: int, view: str, keypoint: str, individual: str) -> dict:  # type: ignore[no-untyped-def]
    cell = {s.TIME: frame, s.VIEW: view, s.KEYPOINT: keypoint, s.INDIVIDUAL: individual}
    return {name: labels[name].sel(cell).values for name in labels.data_vars}


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """labels.nc of 6 frames (session frames 10-15), one tracked point on frame 11."""
    labels = new_labels(6, VIEWS, KEYPOINTS, INDIVIDUALS)
    labels = labels.assign_coords({s.TIME: np.arange(10, 16)})
    labels = set_point(labels, 11, "cam1", "tail", "b", (5.0, 6.0), s.PointSource.TRACKED, 0.4)
    path = tmp_path / "labels.nc"
    save_labels(path, labels)
    return path


def test_edits_in_the_journal_are_replayed_on_load(saved: Path) -> None:
    edited = load_labels(saved)
    journal = LabelJournal(journal_path(saved))
    set_point(edited, 12, "cam0", "nose", "a", (1.5, 2.5), inplace=True)
    journal.append(12, "cam0", "nose", "a", _state(edited, 12, "cam0", "nose", "a"))
    set_point(edited, 11, "cam1", "tail", "b", None, inplace=True)  # delete the tracked point
    journal.append(11, "cam1", "tail", "b", _state(edited, 11, "cam1", "tail", "b"))
    assert journal.lines == 2 and journal.path.name == "labels.nc.journal"

    loaded = load_labels(saved)  # labels.nc itself is unchanged; the journal is replayed
    for name in edited.data_vars:
        np.testing.assert_array_equal(loaded[name].values, edited[name].values, err_msg=name)
    assert loaded[s.SOURCE].sel(time=11, view="cam1", keypoint="tail", individual="b") == 0
    twice = apply_journal(loaded.copy(deep=True), journal.path)  # a line sets an absolute state
    np.testing.assert_array_equal(twice[s.POSITION].values, loaded[s.POSITION].values)


def test_hidden_marks_are_journaled_and_replayed(saved: Path) -> None:
    """A person's "not visible here" is one more variable of the cell's state: it replays, and
    a later delete (or a placed point) of the same cell clears it."""
    edited = load_labels(saved)
    journal = LabelJournal(journal_path(saved))
    set_hidden(edited, 11, "cam1", "tail", "b", inplace=True)  # over the tracked point
    journal.append(11, "cam1", "tail", "b", _state(edited, 11, "cam1", "tail", "b"))
    set_hidden(edited, 13, "cam0", "nose", "a", inplace=True)
    journal.append(13, "cam0", "nose", "a", _state(edited, 13, "cam0", "nose", "a"))
    set_point(edited, 13, "cam0", "nose", "a", None, inplace=True)  # deleted again
    journal.append(13, "cam0", "nose", "a", _state(edited, 13, "cam0", "nose", "a"))
    assert '"hidden": true' in journal.path.read_text()

    loaded = load_labels(saved)
    for name in edited.data_vars:
        np.testing.assert_array_equal(loaded[name].values, edited[name].values, err_msg=name)
    at = {s.VIEW: "cam1", s.KEYPOINT: "tail", s.INDIVIDUAL: "b"}
    assert bool(loaded[s.HIDDEN].sel(time=11, **at))
    assert int(loaded[s.SOURCE].sel(time=11, **at)) == s.PointSource.MANUAL
    assert np.isnan(loaded[s.POSITION].sel(time=11, **at).values).all()
    assert int(loaded[s.HIDDEN].sum()) == 1  # frame 13's mark was deleted


def test_a_journal_from_before_hidden_marks_replays(tmp_path: Path) -> None:
    """labels.nc and journal lines written before ``hidden`` existed: the lines replay (their
    cells keep hidden False), and a new line with a hidden mark replays onto such a file."""
    labels = new_labels(3, VIEWS, KEYPOINTS, INDIVIDUALS).drop_vars(s.HIDDEN)
    path = tmp_path / "labels.nc"
    save_labels(path, labels)
    old_line = {
        "frame": 1,
        "view": "cam0",
        "keypoint": "nose",
        "individual": "a",
        "state": {"position": [1.0, 2.0], "confidence": 1.0, "source": 1, "review": False},
    }
    new_line = {
        **old_line,
        "keypoint": "tail",
        "state": {"position": [None, None], "confidence": 0.0, "source": 1, "hidden": True},
    }
    import json

    journal_path(path).write_text(json.dumps(old_line) + "\n" + json.dumps(new_line) + "\n")
    loaded = load_labels(path)
    cell = {s.TIME: 1, s.VIEW: "cam0", s.INDIVIDUAL: "a"}
    assert loaded[s.POSITION].sel(keypoint="nose", **cell).values.tolist() == [1.0, 2.0]
    assert not bool(loaded[s.HIDDEN].sel(keypoint="nose", **cell))
    assert bool(loaded[s.HIDDEN].sel(keypoint="tail", **cell))
    assert int(loaded[s.HIDDEN].sum()) == 1


def test_a_line_cut_short_by_a_crash_is_the_only_edit_lost(saved: Path) -> None:
    labels = load_labels(saved)
    journal = LabelJournal(journal_path(saved))
    set_point(labels, 10, "cam0", "tail", "a", (7.0, 8.0), inplace=True)
    journal.append(10, "cam0", "tail", "a", _state(labels, 10, "cam0", "tail", "a"))
    with open(journal.path, "ab") as fh:
        fh.write(b'{"frame": 13, "view": "cam0", "keyp')  # killed while writing
    loaded = load_labels(saved)
    xy = loaded[s.POSITION].sel(time=10, view="cam0", keypoint="tail", individual="a").values
    assert xy.tolist() == [7.0, 8.0]
    assert np.isnan(loaded[s.POSITION].sel(time=13).values).all()


def test_a_complete_last_line_that_is_not_json_is_refused(saved: Path) -> None:
    """Only a line without its newline was cut short by a crash; a whole line that is not JSON
    is damage, and dropping it would lose an edit without a word."""
    labels = load_labels(saved)
    journal = LabelJournal(journal_path(saved))
    set_point(labels, 10, "cam0", "tail", "a", (7.0, 8.0), inplace=True)
    journal.append(10, "cam0", "tail", "a", _state(labels, 10, "cam0", "tail", "a"))
    with open(journal.path, "ab") as fh:
        fh.write(b'{"frame": 13, "view": "cam0", "keyp\n')
    with pytest.raises(SchemaError, match=r"line 2 of the edit journal .* is not JSON"):
        load_labels(saved)


def test_a_journal_that_does_not_fit_the_labels_is_refused_with_advice(saved: Path) -> None:
    path = journal_path(saved)
    line = '{"frame": 99, "view": "cam0", "keypoint": "nose", "individual": "a", "state": {}}\n'
    path.write_text(line + line)
    with pytest.raises(SchemaError, match=r"line 1 of the edit journal .*labels.nc.journal"):
        load_labels(saved)
    path.write_text("not json\n" + line)
    with pytest.raises(SchemaError, match="move the journal aside"):
        load_labels(saved)


def test_a_complete_save_drops_the_journal_the_background_writer_keeps_later_lines(
    saved: Path,
) -> None:
    labels = load_labels(saved)
    journal = LabelJournal(journal_path(saved))
    for frame in (10, 11, 12):
        set_point(labels, frame, "cam0", "nose", "b", (frame, 1.0), inplace=True)
        journal.append(frame, "cam0", "nose", "b", _state(labels, frame, "cam0", "nose", "b"))
    save_labels(saved, labels, keep_journal=True)  # what the writer copied: 3 lines
    set_point(labels, 13, "cam0", "nose", "b", (13.0, 1.0), inplace=True)
    journal.append(13, "cam0", "nose", "b", _state(labels, 13, "cam0", "nose", "b"))
    journal.drop_first(3)
    assert journal.lines == 1
    assert LabelJournal(journal.path).lines == 1  # the file holds the 4th edit only
    xy = load_labels(saved)[s.POSITION].sel(view="cam0", keypoint="nose", individual="b")
    assert xy.values[:4, 0].tolist() == [10.0, 11.0, 12.0, 13.0]

    save_labels(saved, load_labels(saved))  # any tool's complete write
    assert not journal.path.exists()
    journal.drop_first(1)  # the writer's late drop after that: nothing left to drop
    assert not journal.path.exists()


# --- hostile journals: every line of the wrong type or shape is refused, with its number ------

GOOD_EDIT = {
    "frame": 12,
    "view": "cam0",
    "keypoint": "nose",
    "individual": "a",
    "state": {"position": [1.5, None], "confidence": 0.5, "source": 1, "review": False},
}


def _with(**changes: object) -> dict:  # type: ignore[type-arg]
    """GOOD_EDIT with top-level keys, or ``state.NAME`` values, replaced (None: removed)."""
    edit = {**GOOD_EDIT, "state": dict(GOOD_EDIT["state"])}  # type: ignore[call-overload]
    for key, value in changes.items():
        target, name = (edit["state"], key[6:]) if key.startswith("state_") else (edit, key)
        if value is None:
            target.pop(name)
        else:
            target[name] = value
    return edit


BAD_LINES = {
    "position-three": (_with(state_position=[1, 2, 3]), r"position must be a list of 2 numbers"),
    "position-strings": (_with(state_position=["a", "b"]), r"position must be a number or null"),
    "position-bool": (_with(state_position=[True, 2.0]), r"position must be a number or null"),
    "position-scalar": (_with(state_position=1.5), r"position must be a list of 2 numbers"),
    "state-string": (_with(state="x"), r"state must be an object of variable -> value, got 'x'"),
    "source-string": (_with(state_source="abc"), r"source must be one of the codes 0, 1, 2, 3, 4"),
    "source-float": (_with(state_source=1.0), r"source must be one of the codes .*got 1.0"),
    "source-bool": (_with(state_source=True), r"source must be one of the codes .*got True"),
    "source-unknown": (_with(state_source=9), r"source must be one of the codes .*got 9"),
    "review-string": (_with(state_review="false"), r"review must be true or false, got 'false'"),
    "review-int": (_with(state_review=0), r"review must be true or false, got 0"),
    "confidence-string": (_with(state_confidence="0.5"), r"confidence must be a number or null"),
    "confidence-bool": (_with(state_confidence=True), r"confidence must be a number or null"),
    "confidence-negative": (_with(state_confidence=-1e308), r"confidence must lie in \[0, 1\]"),
    "confidence-above-one": (_with(state_confidence=1.5), r"confidence must lie in \[0, 1\]"),
    "position-absurd": (_with(state_position=[1e288, 2]), r"position must lie in \[-1e\+06, 1e"),
    "frame-float": (_with(frame=12.7), r"frame must be a whole number .*got 12.7"),
    "frame-integral-float": (_with(frame=12.0), r"frame must be a whole number .*got 12.0"),
    "frame-bool": (_with(frame=True), r"frame must be a whole number .*got True"),
    "frame-string": (_with(frame="12"), r"frame must be a whole number .*got '12'"),
    "frame-outside": (_with(frame=99), r"frame 99 is outside the labels"),
    "view-number": (_with(view=0), r"view must be a name in quotes, got 0"),
    "keypoint-list": (_with(keypoint=["nose"]), r"keypoint must be a name in quotes"),
    "unknown-individual": (_with(individual="z"), r"unknown individual 'z'"),
    "no-state": (_with(state=None), r"missing key\(s\) state"),
    "not-an-object": ([12, "cam0"], r"expected an object with frame, view, keypoint, individual"),
    "hidden-string": (_with(state_hidden="true"), r"hidden must be true or false, got 'true'"),
    "hidden-int": (_with(state_hidden=1), r"hidden must be true or false, got 1"),
    "hidden-with-a-point": (
        _with(state_hidden=True, state_position=[1.5, 2.0]),
        r"hidden is true but position is \[1.5, 2.0\]; a hidden keypoint has no position",
    ),
    "hidden-half-a-point": (
        _with(state_hidden=True),
        r"hidden is true but position is \[1.5, None\]",
    ),
    "hidden-without-source": (
        _with(state_hidden=True, state_position=[None, None], state_source=0),
        r"hidden is true but source is 0 \(none\); a hidden mark says who made it",
    ),
}


@pytest.mark.parametrize(("edit", "message"), BAD_LINES.values(), ids=BAD_LINES.keys())
@pytest.mark.parametrize("where", ["first", "last"])
def test_a_line_of_the_wrong_type_or_shape_is_refused_naming_the_line(
    tmp_path: Path, edit: object, message: str, where: str
) -> None:
    """Each bad line, before or after a good one (valid JSON on the last line is not a line
    cut short: it is refused too); nothing is replayed, not even the good line."""
    import json

    good, bad = json.dumps(GOOD_EDIT), json.dumps(edit)
    lines, number = ([bad, good], 1) if where == "first" else ([good, bad], 2)
    path = tmp_path / "labels.nc.journal"
    path.write_text("\n".join(lines) + "\n")
    labels = new_labels(6, VIEWS, KEYPOINTS, INDIVIDUALS).assign_coords({s.TIME: np.arange(10, 16)})
    before = labels.copy(deep=True)
    with pytest.raises(SchemaError, match=message) as info:
        apply_journal(labels, path)
    text = str(info.value)
    assert text.startswith(f"line {number} of the edit journal {path} does not fit the labels")
    assert text.endswith("move the journal aside to open the labels without its edits")
    for name in labels.data_vars:
        np.testing.assert_array_equal(labels[name].values, before[name].values, err_msg=name)


def test_wrongly_typed_values_used_to_replay_as_other_values(saved: Path) -> None:
    """ "review": "false" replayed as True and "frame": 1.7 as frame 1; now both are refused,
    and the same line with the right types replays exactly."""
    import json

    path = journal_path(saved)
    path.write_text(json.dumps(_with(state_review="false")) + "\n")
    with pytest.raises(SchemaError, match=r"line 1 .* review must be true or false"):
        load_labels(saved)
    path.write_text(json.dumps(_with(frame=11.7)) + "\n")
    with pytest.raises(SchemaError, match=r"line 1 .* frame must be a whole number"):
        load_labels(saved)
    path.write_text(json.dumps(_with(state_review=True, frame=11)) + "\n")
    cell = {s.TIME: 11, s.VIEW: "cam0", s.KEYPOINT: "nose", s.INDIVIDUAL: "a"}
    labels = load_labels(saved)
    assert bool(labels[s.REVIEW].sel(cell)) is True
    assert labels[s.POSITION].sel(cell).values[0] == 1.5
    assert np.isnan(labels[s.POSITION].sel(cell).values[1])
    assert int(labels[s.SOURCE].sel(cell)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"confidence": Infinity}', r"confidence must be a finite number or null, got inf"),
        ('{"confidence": NaN}', r"confidence must be a finite number or null, got nan"),
        ('{"position": [1e400, 2]}', r"position must be a finite number or null, got inf"),
    ],
)
def test_non_finite_numbers_are_refused(saved: Path, text: str, message: str) -> None:
    """JSON's NaN / Infinity tokens (Python's json reads them): the journal writes null."""
    import json

    line = json.dumps({**GOOD_EDIT, "state": "STATE"}).replace('"STATE"', text)
    journal_path(saved).write_text(line + "\n" + json.dumps(GOOD_EDIT) + "\n")
    with pytest.raises(SchemaError, match=message):
        load_labels(saved)


def test_a_tracker_variable_needs_its_own_type(saved: Path) -> None:
    """Labels with the tracker's variables: review_reason is a ReviewReason code, visibility a
    number; int8 variables refuse values outside the enum."""
    import json

    labels = load_labels(saved)
    shape = labels[s.CONFIDENCE].shape
    dims = s.TRACK_DIMS[s.REVIEW_REASON]
    labels[s.REVIEW_REASON] = (dims, np.zeros(shape, np.int8))
    labels[s.VISIBILITY] = (s.TRACK_DIMS[s.VISIBILITY], np.full(shape, np.nan, np.float32))
    save_labels(saved, labels)
    path = journal_path(saved)
    path.write_text(json.dumps(_with(state_review_reason=300)) + "\n")
    with pytest.raises(SchemaError, match=r"review_reason must be one of the codes 0, 1, 2, 3"):
        load_labels(saved)
    path.write_text(json.dumps(_with(state_visibility="high")) + "\n")
    with pytest.raises(SchemaError, match=r"visibility must be a number or null, got 'high'"):
        load_labels(saved)
    path.write_text(json.dumps(_with(state_visibility=1e308)) + "\n")  # beyond a float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no overflow warning on the way (fuzz: #112)
        with pytest.raises(SchemaError, match=r"visibility must be a finite number or null"):
            load_labels(saved)
    path.write_text(json.dumps(_with(state_review_reason=5, state_visibility=0.25)) + "\n")
    cell = {s.TIME: 12, s.VIEW: "cam0", s.KEYPOINT: "nose", s.INDIVIDUAL: "a"}
    loaded = load_labels(saved)
    assert int(loaded[s.REVIEW_REASON].sel(cell)) == 5
    assert float(loaded[s.VISIBILITY].sel(cell)) == 0.25


def test_only_the_last_line_may_be_cut_short(saved: Path) -> None:
    import json

    path = journal_path(saved)
    cut = json.dumps(GOOD_EDIT)[:30]
    path.write_text(cut + "\n" + json.dumps(GOOD_EDIT) + "\n")
    with pytest.raises(SchemaError, match=r"line 1 of the edit journal .* it is not JSON"):
        load_labels(saved)
    path.write_text(json.dumps(GOOD_EDIT) + "\n" + cut)
    xy = load_labels(saved)[s.POSITION].sel(time=12, view="cam0", keypoint="nose", individual="a")
    assert xy.values[0] == 1.5
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n" + json.dumps(GOOD_EDIT).encode())
    with pytest.raises(SchemaError, match=r"line 1 of the edit journal .* it is not JSON"):
        load_labels(saved)


@pytest.mark.parametrize("kind", ["folder", "symlink"])
def test_a_journal_path_that_is_not_a_file_is_refused(saved: Path, kind: str) -> None:
    path = journal_path(saved)
    if kind == "folder":
        path.mkdir()
    else:
        (saved.parent / "elsewhere").write_text("precious\n")
        path.symlink_to(saved.parent / "elsewhere")
    labels = new_labels(6, VIEWS, KEYPOINTS, INDIVIDUALS)
    with pytest.raises(SchemaError, match=rf"edit journal {path} beside labels.nc is a {kind}"):
        load_labels(saved)
    with pytest.raises(SchemaError, match=r"move it aside"):  # a complete save removes it
        save_labels(saved, labels.assign_coords({s.TIME: np.arange(10, 16)}))
    with pytest.raises(SchemaError, match=r"move it aside"):
        LabelJournal(journal_path(saved))
    assert path.is_symlink() or path.is_dir()
    if kind == "symlink":
        assert (saved.parent / "elsewhere").read_text() == "precious\n"


def test_apply_journal_refuses_a_fifo_instead_of_waiting(saved: Path, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo.journal"
    os.mkfifo(fifo)
    with pytest.raises(SchemaError, match=r"is not a regular file"):
        apply_journal(load_labels(saved), fifo)
    os.rename(fifo, journal_path(saved))
    with pytest.raises(SchemaError, match=r"beside labels.nc is not a regular file: .* aside"):
        load_labels(saved)


@pytest.mark.parametrize("reader", ["whole", "in parts"])
def test_a_line_that_leaves_a_hidden_keypoint_with_a_point_is_refused_naming_it(
    saved: Path, reader: str
) -> None:
    """A line that marks frame 11's tracked point hidden without giving the position (a damaged
    line: pose3d writes the whole state) would leave the cell hidden with its point; the
    message names the journal's line, not labels.nc, whether the labels are read whole or a
    part at a time (fuzz: journal-parts, seed 1, #43)."""
    from pose3d.io.netcdf import iter_labels

    journal = journal_path(saved)
    journal.write_text(
        '{"frame": 12, "view": "cam0", "keypoint": "nose", "individual": "a", "state": '
        '{"review": true}}\n'
        '{"frame": 11, "view": "cam1", "keypoint": "tail", "individual": "b", "state": '
        '{"hidden": true, "source": 1}}\n'
    )
    with pytest.raises(SchemaError, match=r"^line 2 of the edit journal .*hidden with a point"):
        if reader == "whole":
            load_labels(saved)
        else:
            list(iter_labels(saved, 2))
