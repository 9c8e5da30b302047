"""The CoTracker3 adapter: pose3d's frames and (t, x, y) queries in, the video's pixels out;
large frames are shrunk to the model resolution as they are read, and scaled back exactly."""

from __future__ import annotations

import numpy as np
import torch

from pose3d.tracking.base import FrameWindow, PointTracker
from pose3d.tracking.cotracker3 import CoTracker3Predictor, TrackerOutput, build_cotracker3
from pose3d.tracking.cotracker3_tracker import CoTracker3Tracker

RESOLUTION = (32, 48)  # (h, w) small model resolution for tests
T, HEIGHT, WIDTH = 6, 61, 91  # larger than the model resolution: the adapter resizes


class StandIn:
    """Tracks every query at its query position; records the frame sizes it was given."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, ...]] = []

    def features(self, video: torch.Tensor, chunk_size: int = 8) -> list[torch.Tensor]:
        self.sizes.append(tuple(video.shape))
        return [video.mean(dim=2, keepdim=True)]

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> TrackerOutput:
        frames = pyramid[0].shape[1]
        n = queries.shape[1]
        tracks = queries[:, None, :, 1:].expand(1, frames, n, 2).clone()
        return TrackerOutput(
            tracks, torch.full((1, frames, n), 0.9), torch.full((1, frames, n), 0.8)
        )


def clip() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (T, HEIGHT, WIDTH, 3), dtype=np.uint8)


QUERIES = np.array([[0, 0.0, 0.0], [2, 90.0, 60.0], [5, 33.3, 17.5]])


def test_pixels_round_trip_through_the_model_resolution() -> None:
    network = StandIn()
    predictor = CoTracker3Predictor(
        network, resolution=RESOLUTION, backward_tracking=False, support_grid_size=0
    )
    tracker = CoTracker3Tracker(predictor)
    assert isinstance(tracker, PointTracker) and tracker.name == "cotracker3"
    done: list[int] = []
    result = tracker.track(clip(), QUERIES, progress=lambda d, total: done.append(d))
    assert network.sizes[0][-2:] == RESOLUTION  # frames were shrunk before the predictor
    assert result.tracks.shape == (T, 3, 2) and result.fb_error is None
    np.testing.assert_allclose(result.tracks, np.broadcast_to(QUERIES[:, 1:], (T, 3, 2)), atol=1e-4)
    np.testing.assert_allclose(result.visibility[1], 0.9)
    assert done[-1] == T


def test_real_network_runs_on_a_frame_window() -> None:
    torch.manual_seed(0)
    predictor = CoTracker3Predictor(build_cotracker3("online"), resolution=RESOLUTION, iters=1)
    frames = np.concatenate([clip(), clip()])  # 12 frames; track frames 3-10
    result = CoTracker3Tracker(predictor).track(FrameWindow(frames, 3, 11), QUERIES)
    assert result.tracks.shape == (8, 3, 2)
    assert np.isfinite(result.tracks).all()
    np.testing.assert_array_equal(
        result.tracks[[0, 2, 5], [0, 1, 2]], QUERIES[:, 1:].astype(np.float32)
    )
    assert ((result.visibility >= 0) & (result.visibility <= 1)).all()
