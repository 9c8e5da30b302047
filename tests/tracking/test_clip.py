"""A long clip for a learned tracker is read as the tracker asks for it (pose3d.tracking.clip):
the same frames as reading it whole, at most a few held, and the same tracks from CoTracker3
and TAPIR either way."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
import torch

import pose3d.tracking.clip as clip_module
from pose3d.tracking.base import FrameWindow, TrackingCancelled, TrackProgress, TrackResult
from pose3d.tracking.clip import ResizedClip, clip_for, read_clip
from pose3d.tracking.cotracker3 import CoTracker3Predictor, build_cotracker3
from pose3d.tracking.cotracker3_tracker import CoTracker3Tracker
from pose3d.tracking.tapir.predictor import TapirPredictor
from pose3d.tracking.tapir_tracker import TapirTracker
from tests.tracking.test_tapir_predictor import (
    MAX_SIDE,
    QUERY_XY,
    STEP,
    translated_clip,
    transparent_network,
)

SIZE = (16, 24)


class Counted:
    """Frames of an array that count how often each frame is read."""

    def __init__(self, frames: np.ndarray) -> None:
        self.frames = frames
        self.reads = np.zeros(len(frames), int)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> np.ndarray:
        self.reads[index] += 1
        return self.frames[index]


def frames(n: int = 20) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, 30, 45, 3), dtype=np.uint8)


def test_a_resized_clip_gives_the_frames_read_whole_would() -> None:
    whole, _ = read_clip(frames(), lambda h, w: SIZE, align_corners=True)
    source = Counted(frames())
    done: list[int] = []
    lazy = ResizedClip(source, SIZE, True, keep=4, progress=lambda d, total: done.append(d))
    assert lazy.shape == whole.shape and len(lazy) == 20 and lazy.dtype == np.uint8
    assert source.reads.sum() == 0  # nothing read before it is asked for
    for index in (3, -1, slice(2, 9), slice(None, None, -3), np.array([5, 0, 19]), [1, 1]):
        np.testing.assert_array_equal(lazy[index], whole[index])
        assert lazy.held <= 4
    assert done == list(range(int((source.reads > 0).sum())))  # each frame first read counts
    with pytest.raises(TypeError, match="is not read whole"):
        np.asarray(lazy)
    with pytest.raises(IndexError):
        lazy[20]


def test_held_frames_are_not_read_again_and_cancel_stops_reading() -> None:
    source = Counted(frames())
    lazy = ResizedClip(source, SIZE, False, keep=5)
    lazy[0:5]
    lazy[2:5]
    assert source.reads[:5].tolist() == [1] * 5
    lazy[5:10]  # 0-4 evicted
    lazy[0]
    assert source.reads[0] == 2
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrackingCancelled):
        ResizedClip(source, SIZE, False, cancel=cancel)[0]


def test_clip_for_reads_a_clip_whole_only_when_it_fits() -> None:
    whole, size = clip_for(frames(), lambda h, w: SIZE, align_corners=True)
    assert isinstance(whole, np.ndarray) and size == (30, 45)
    budget = 20 * SIZE[0] * SIZE[1] * 3
    fits, _ = clip_for(frames(), lambda h, w: SIZE, align_corners=True, eager_bytes=budget)
    assert isinstance(fits, np.ndarray)
    lazy, _ = clip_for(frames(), lambda h, w: SIZE, align_corners=True, eager_bytes=budget - 1)
    assert isinstance(lazy, ResizedClip) and lazy.keep == clip_module.KEEP_FRAMES


def _same_either_way(
    monkeypatch: pytest.MonkeyPatch,
    track: Callable[[TrackProgress], TrackResult],
    keep: int,
    frames: int,
    total: int,
) -> None:
    """``track`` (a clip of ``frames`` frames) gives the same result when the clip is read whole
    and when it is read as needed with ``keep`` frames held, whose progress only goes forward
    to ``total``."""
    whole = track(lambda *d: None)
    made: list[ResizedClip] = []
    original = ResizedClip.__init__

    def init(self: ResizedClip, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(clip_module, "EAGER_BYTES", 0)
    monkeypatch.setattr(clip_module, "KEEP_FRAMES", keep)
    monkeypatch.setattr(ResizedClip, "__init__", init)
    done: list[tuple[int, int]] = []
    lazy = track(lambda *d: done.append(d))
    assert len(made) == 1 and len(made[0]) == frames and made[0].held <= keep
    assert done == sorted(done) and done[-1] == (total, total)
    for name in ("tracks", "visibility", "confidence"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(whole, name))


def test_tapir_tracks_a_clip_read_as_needed_as_one_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = translated_clip(11)
    queries = np.array([[5, *(QUERY_XY + STEP * 5)], [0, *QUERY_XY]])

    def track(progress: TrackProgress) -> TrackResult:
        predictor = TapirPredictor(transparent_network(), max_side=MAX_SIDE, window=4, overlap=2)
        return TapirTracker(predictor).track(clip, queries, progress=progress)

    _same_either_way(monkeypatch, track, keep=3, frames=11, total=22)


@pytest.mark.parametrize("variant", ["offline", "online"])
def test_cotracker3_tracks_a_clip_read_as_needed_as_one_read_whole(
    monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    video = np.concatenate([frames(), frames()[::-1]])  # 40 frames
    queries = np.array([[0, 3.0, 4.0], [17, 40.0, 20.0], [39, 22.5, 11.0]])

    def track(progress: TrackProgress) -> TrackResult:
        torch.manual_seed(0)
        predictor = CoTracker3Predictor(
            build_cotracker3(variant), resolution=(32, 48), iters=1, window_len=12,
            window_overlap=4, support_grid_size=2,
        )  # fmt: skip
        return CoTracker3Tracker(predictor).track(
            FrameWindow(video, 0, 40), queries, progress=progress
        )

    _same_either_way(monkeypatch, track, keep=16, frames=40, total=40)
