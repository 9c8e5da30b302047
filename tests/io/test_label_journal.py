"""The edit journal beside labels.nc: replayed by load_labels, dropped by a complete save."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pose3d import schema as s
from pose3d.errors import SchemaError
from pose3d.io.label_journal import LabelJournal, apply_journal, journal_path
from pose3d.io.netcdf import load_labels, save_labels
from pose3d.labels import new_labels, set_point

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
