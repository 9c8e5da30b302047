"""The classical tracker: exact on an analytic translation, visibility drops when the point's
surroundings change, frames are read forward in bounded blocks, and on the synthetic rodent
its accuracy is measured against the ground truth."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.video_reading import VideoReader
from pose3d.tracking.base import (
    FrameWindow,
    PointTracker,
    TrackingCancelled,
    TrackResult,
    iter_backward,
)
from pose3d.tracking.classical import ClassicalTracker, auto_window

T, H, W = 20, 120, 160
VELOCITY = np.array([1.5, -0.75])  # px per frame (x, y)
QUERY_FRAME = 10


def texture(seed: int, shape: tuple[int, int] = (2 * H, 2 * W)) -> np.ndarray:
    noise = np.random.default_rng(seed).random((*shape, 3)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0) * 255.0


def translating_clip() -> np.ndarray:
    """(T, H, W, 3): a smooth texture moving by VELOCITY px per frame (bilinear resampling)."""
    base = texture(0)
    frames = []
    for t in range(T):
        dx, dy = VELOCITY * (t - QUERY_FRAME)
        shift = np.float32([[1, 0, dx - W / 2], [0, 1, dy - H / 2]])
        frames.append(cv2.warpAffine(base, shift, (W, H), flags=cv2.INTER_LINEAR))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


POINTS = np.array([[60.0, 50.0], [100.5, 70.25], [80.0, 40.0]])


def test_is_a_point_tracker() -> None:
    assert isinstance(ClassicalTracker(), PointTracker)
    assert ClassicalTracker().name == "classical"


def test_follows_a_translation_forward_and_backward_to_a_tenth_of_a_pixel() -> None:
    clip = translating_clip()
    queries = np.column_stack([np.full(3, QUERY_FRAME), POINTS])  # (t, x, y)
    result = ClassicalTracker(window=11).track(clip, queries)
    assert result.tracks.shape == (T, 3, 2)
    expected = POINTS[None] + VELOCITY[None, None] * (np.arange(T) - QUERY_FRAME)[:, None, None]
    np.testing.assert_allclose(result.tracks, expected, atol=0.1)
    np.testing.assert_array_equal(result.tracks[QUERY_FRAME], POINTS.astype(np.float32))
    assert result.visibility[QUERY_FRAME].tolist() == [1.0, 1.0, 1.0]
    assert (result.visibility > 0.8).all() and (result.confidence > 0.8).all()
    assert result.fb_error is not None and np.nanmax(result.fb_error) < 0.25


def test_queries_on_different_frames_are_independent() -> None:
    clip = translating_clip()
    both = np.array([[QUERY_FRAME, *POINTS[0]], [3, *(POINTS[1] + VELOCITY * (3 - QUERY_FRAME))]])
    alone = ClassicalTracker().track(clip, both[:1])
    together = ClassicalTracker().track(clip, both)
    np.testing.assert_array_equal(alone.tracks[:, 0], together.tracks[:, 0])


def test_visibility_drops_where_the_surroundings_change() -> None:
    clip = translating_clip()
    other = np.clip(texture(1, (H, W)), 0, 255).astype(np.uint8)
    hidden = clip.copy()
    x, y = POINTS[0] + VELOCITY * 4  # where point 0 is at frame 14
    y0, x0 = int(y) - 15, int(x) - 15
    hidden[14:, y0 : y0 + 30, x0 : x0 + 30] = other[y0 : y0 + 30, x0 : x0 + 30]
    queries = np.column_stack([np.full(3, QUERY_FRAME), POINTS])
    result = ClassicalTracker().track(hidden, queries)
    assert result.visibility[14, 0] < 0.5
    assert (result.visibility[14:, 1:] > 0.8).all()  # the other points are unaffected
    assert (result.confidence[14:, 0] < 0.5).all()  # a track that went wrong stays doubtful


class CountingFrames:
    """A clip that records which frames are read, in order."""

    def __init__(self, clip: np.ndarray) -> None:
        self.clip = clip
        self.reads: list[int] = []

    def __len__(self) -> int:
        return len(self.clip)

    def __getitem__(self, index: int) -> np.ndarray:
        self.reads.append(index)
        return self.clip[index]


def test_reads_forward_then_backward_in_bounded_blocks() -> None:
    frames = CountingFrames(translating_clip())
    queries = np.array([[QUERY_FRAME, *POINTS[0]], [12, *POINTS[1]]])
    ClassicalTracker(block=4).track(frames, queries)
    forward, backward = frames.reads[: T - QUERY_FRAME], frames.reads[T - QUERY_FRAME :]
    assert forward == list(range(QUERY_FRAME, T))
    # backward: frames 12 .. 0 in blocks of at most 4, each block read forward
    assert backward == [9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4, 0]


def test_iter_backward_yields_every_frame_once_in_reverse() -> None:
    frames = CountingFrames(np.arange(10)[:, None, None, None].astype(np.uint8))
    order = [int(f[0, 0, 0]) for f in iter_backward(frames, 2, 9, block=3)]
    assert order == [8, 7, 6, 5, 4, 3, 2]


def test_progress_and_cancel() -> None:
    clip = translating_clip()
    queries = np.array([[5, *POINTS[0]]])
    seen: list[tuple[int, int]] = []
    ClassicalTracker().track(clip, queries, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (T - 1, T - 1) and [d for d, _ in seen] == list(range(1, T))
    cancel = threading.Event()

    def stop_after_three(done: int, total: int) -> None:
        if done == 3:
            cancel.set()

    with pytest.raises(TrackingCancelled):
        ClassicalTracker().track(clip, queries, progress=stop_after_three, cancel=cancel)


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        (np.zeros((2, 2)), r"\(N, 3\) as \(t, x, y\)"),
        (np.array([[1.5, 3.0, 4.0]]), "whole numbers"),
        (np.array([[T, 3.0, 4.0]]), rf"\[0, {T}\)"),
        (np.array([[0, np.nan, 4.0]]), "finite"),
    ],
)
def test_bad_queries_say_what_is_expected(queries: np.ndarray, message: str) -> None:
    with pytest.raises(Pose3dError, match=message):
        ClassicalTracker().track(translating_clip(), queries)


def test_bad_options_and_frames_are_refused() -> None:
    with pytest.raises(Pose3dError, match="odd"):
        ClassicalTracker(window=8)
    with pytest.raises(Pose3dError, match=r"RGB uint8 \(H, W, 3\)"):
        ClassicalTracker().track(np.zeros((3, 10, 10), np.uint8), np.array([[0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(T, N, 2\)"):
        TrackResult(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)))


def test_auto_window_scales_with_the_frame() -> None:
    assert [auto_window(w) for w in (320, 640, 1280, 1920)] == [5, 7, 13, 21]


def test_frame_window_maps_and_checks() -> None:
    clip = translating_clip()
    window = FrameWindow(clip, 5, 9)
    assert len(window) == 4 and np.array_equal(window[0], clip[5])
    with pytest.raises(IndexError):
        window[4]
    with pytest.raises(Pose3dError, match="does not fit"):
        FrameWindow(clip, 5, T + 1)


def test_synthetic_rodent_accuracy(synthetic_template: Path, truth: xr.Dataset) -> None:
    """Seeded with the true visible points of frame 0, tracked 30 frames (frames 1-30).

    Measured (seed 0, 4 cameras, 640 × 480): PCK@3px 0.95 over all visible points of all
    keypoints (1093 points); the worst keypoint is paw_back_left (0.72), every other is >= 0.87.
    On another machine (AVX-512, 2026-12-06), whose synthetic video differs slightly, 0.93.
    Target: PCK@3px >= 0.90 over all keypoints. (Before the trunk keypoints were marker spheres
    on the trunk's top, neck, spine_mid and tail_base were the trunk ellipsoids' centres, the
    skin under them slid 5-16 px as the trunk turned, and PCK was 0.79.)
    """
    visible = truth["visible"].values[:31, :, :, 0]  # (31, V, K) individual 0
    position = np.moveaxis(truth[s.POSITION].values[:31, :, :, :, 0], 2, 3)  # (31, V, K, 2)
    errors, seen = [], []
    for v, view in enumerate(truth[s.VIEW].values):
        start = np.flatnonzero(visible[0, v])  # the keypoints a labeller sees on frame 0
        queries = np.column_stack([np.zeros(len(start)), position[0, v, start]])  # (t, x, y)
        with VideoReader(synthetic_template / "videos" / f"{view}.mp4") as reader:
            result = ClassicalTracker().track(FrameWindow(reader, 0, 31), queries)
        error = np.linalg.norm(result.tracks - position[:, v, start], axis=-1)  # (31, N)
        errors.append(error[1:])
        seen.append(visible[1:, v, start])
    error, ok = np.concatenate(errors, axis=1), np.concatenate(seen, axis=1)
    pck = (error[ok] < 3).mean()
    assert pck >= 0.90, pck
