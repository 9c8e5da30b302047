"""The frame cache: session frame -> each camera's frame (offsets), prefetch, bounded memory."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pose3d.io.session_toml import load_session
from pose3d.io.video_reading import VideoReader
from pose3d.tui.state.frames import FrameCache


def test_frames_follow_each_cameras_offset(session_dir: Path) -> None:
    session = load_session(session_dir)
    with FrameCache(session) as cache:
        assert cache.n_frames == 14
        assert cache.camera_frame("cam2", 5) == 3
        assert cache.get("cam2", 1) is None  # cam2 starts at session frame 2
        assert cache.get("cam0", 13) is None  # cam0 ended at session frame 11
        frames = cache.get_all(5)
        with VideoReader(session.video_path("cam2")) as reader:
            np.testing.assert_array_equal(frames["cam2"], reader[3])
        with VideoReader(session.video_path("cam0")) as reader:
            np.testing.assert_array_equal(frames["cam0"], reader[5])


def test_prefetch_decodes_neighbours_in_the_background(session_dir: Path) -> None:
    with FrameCache(load_session(session_dir), ahead=3, behind=1) as cache:
        cache.get_all(4)
        cache.prefetch(4)
        deadline = time.monotonic() + 20
        while cache.decoded < 3 * 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        decoded = cache.decoded
        assert decoded == 15  # frames 3..7 of the three cameras, each decoded once
        for frame in (3, 5, 6, 7):
            for view in cache.views:
                cache.get(view, frame)
            if frame == 7:
                cache.prefetch(frame)
        assert cache.decoded >= decoded  # frame 7's own prefetch may add more, never redo 3..7
        assert cache.get("cam0", 5) is not None


def test_memory_stays_within_the_bound(session_dir: Path) -> None:
    one = 160 * 120 * 3
    with FrameCache(load_session(session_dir), max_bytes=3 * one, ahead=0, behind=0) as cache:
        for frame in range(10):
            assert cache.get("cam0", frame) is not None
            assert cache.cached_bytes <= 3 * one
        assert cache.decoded == 10
        cache.get("cam0", 9)  # still cached
        assert cache.decoded == 10
        cache.get("cam0", 0)  # evicted long ago: decoded again
        assert cache.decoded == 11


def test_cached_answers_without_decoding(session_dir: Path) -> None:
    with FrameCache(load_session(session_dir), ahead=0, behind=0) as cache:
        assert cache.cached("cam0", 7) == (False, None)
        assert cache.cached("cam2", 0) == (True, None)  # not filmed: known at once
        frame = cache.get("cam0", 7)
        known, cached = cache.cached("cam0", 7)
        assert known and cached is frame
        assert cache.decoded == 1
