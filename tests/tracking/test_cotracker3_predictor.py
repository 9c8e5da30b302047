"""The CoTracker3 predictor: pixel conventions of the resizing, the support grid (on the seed
frame of every window and stream), backward tracking, the query-frame overwrite, the windows
(offline) and the streaming (online) of long clips and the feature cache, checked with a
transparent stand-in network; then small end-to-end runs of the real network against its
single run. Memory is measured in benchmarks/tracking.py, not asserted here: 200 frames at
384 × 512 peak at 1.64 GB online (docs/tracking.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pose3d.tracking.cotracker3 import CoTracker3Predictor, TrackerOutput, build_cotracker3
from pose3d.tracking.cotracker3.predictor import points_on_a_grid

RESOLUTION = (32, 48)  # (h, w) small model resolution for tests
T, HEIGHT, WIDTH = 6, 21, 31  # video frames and size: odd sizes make the scaling visible


class StandIn:
    """Tracks every query at its query position, shifted by ``shift`` px per frame after the
    query frame; records its calls. Visibility 0.9, confidence 0.8 (forward) / 0.5 (backward)."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift
        self.encoded: list[int] = []
        self.queries: list[torch.Tensor] = []

    def features(self, video: torch.Tensor, chunk_size: int = 200) -> list[torch.Tensor]:
        assert video.shape[-2:] == RESOLUTION
        self.encoded.append(video.shape[1])
        return [video.mean(dim=2, keepdim=True)]  # (1, c, 1, h, w), frame mean as marker

    def track(
        self, pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4
    ) -> TrackerOutput:
        self.queries.append(queries.clone())
        frames = pyramid[0].shape[1]
        t = torch.arange(frames, dtype=queries.dtype)[None, :, None]  # (1, T, 1)
        steps = (t - queries[:, None, :, 0]).clamp_min(0)  # (1, T, N)
        tracks = queries[:, None, :, 1:] + self.shift * steps[..., None]  # (1, T, N, 2)
        backward = len(self.queries) % 2 == 0
        visibility = torch.full_like(steps, 0.9)
        confidence = torch.full_like(steps, 0.5 if backward else 0.8)
        return TrackerOutput(tracks, visibility, confidence)


def video(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (T, HEIGHT, WIDTH, 3), dtype=np.uint8)


QUERIES = np.array([[0, 0.0, 0.0], [3, 30.0, 20.0], [5, 12.5, 7.25]], dtype=np.float32)


def test_pixel_centres_map_onto_pixel_centres_both_ways() -> None:
    network = StandIn()
    predictor = CoTracker3Predictor(network, resolution=RESOLUTION, backward_tracking=False)
    result = predictor.track(video(), QUERIES)
    sent = network.queries[0][0, :3]
    sx, sy = (48 - 1) / (WIDTH - 1), (32 - 1) / (HEIGHT - 1)
    np.testing.assert_allclose(sent[:, 1].numpy(), QUERIES[:, 1] * sx, rtol=1e-6)
    np.testing.assert_allclose(sent[:, 2].numpy(), QUERIES[:, 2] * sy, rtol=1e-6)
    assert result.tracks.shape == (T, 3, 2)
    np.testing.assert_allclose(result.tracks, np.broadcast_to(QUERIES[:, 1:], (T, 3, 2)), atol=1e-5)


def test_support_grid_is_appended_on_frame_zero_and_removed() -> None:
    network = StandIn()
    predictor = CoTracker3Predictor(network, resolution=RESOLUTION, backward_tracking=False)
    result = predictor.track(video(), QUERIES)
    sent = network.queries[0][0]
    assert sent.shape == (3 + 36, 3)
    assert (sent[3:, 0] == 0).all()
    torch.testing.assert_close(sent[3:, 1:], points_on_a_grid(6, RESOLUTION))
    assert result.visibility.shape == result.confidence.shape == result.visible.shape == (T, 3)


def test_points_on_a_grid_rows_of_constant_y_with_a_margin_of_w_over_64() -> None:
    grid = points_on_a_grid(3, (384, 512))
    expected = [[x, y] for y in (8.0, 192.0, 376.0) for x in (8.0, 256.0, 504.0)]
    torch.testing.assert_close(grid, torch.tensor(expected))


def test_backward_tracking_fills_the_frames_before_each_query() -> None:
    network = StandIn(shift=1.0)
    predictor = CoTracker3Predictor(network, resolution=RESOLUTION, backward_tracking=True)
    result = predictor.track(video(), QUERIES)
    forward_queries, reversed_queries = network.queries
    torch.testing.assert_close(reversed_queries[:, :3, 0], T - 1 - forward_queries[:, :3, 0])
    # each run has its support grid on its first frame: frame 0 forward, the last one reversed
    assert (forward_queries[:, 3:, 0] == 0).all() and (reversed_queries[:, 3:, 0] == 0).all()
    # query 1 at frame 3: frames 0-2 from the reversed run (moving away from the query in
    # reversed time), frames 4-5 forward; confidence tells the runs apart.
    np.testing.assert_allclose(result.confidence[:3, 1], 0.5)
    np.testing.assert_allclose(result.confidence[4:, 1], 0.8)
    sx = (48 - 1) / (WIDTH - 1)
    np.testing.assert_allclose(result.tracks[0, 1, 0], 30.0 + 3 / sx, rtol=1e-5)
    np.testing.assert_allclose(result.tracks[5, 1, 0], 30.0 + 2 / sx, rtol=1e-5)


def test_the_query_frame_is_the_query() -> None:
    predictor = CoTracker3Predictor(StandIn(shift=2.0), resolution=RESOLUTION)
    result = predictor.track(video(), QUERIES)
    own = QUERIES[:, 0].astype(int)
    np.testing.assert_array_equal(result.tracks[own, np.arange(3)], QUERIES[:, 1:])
    assert result.visible[own, np.arange(3)].all()
    np.testing.assert_array_equal(result.confidence[own, np.arange(3)], 1.0)
    # elsewhere: visible = visibility · confidence > 0.6, here 0.9 · 0.8
    np.testing.assert_array_equal(result.visible[:, 0], True)


def test_features_are_cached_for_the_same_video() -> None:
    network = StandIn()
    predictor = CoTracker3Predictor(network, resolution=RESOLUTION, chunk_size=4)
    predictor.track(video(), QUERIES)
    predictor.track(video(), QUERIES[:1])  # same frames, new queries: no encoding
    assert network.encoded == [4, 2]
    predictor.track(video(seed=1), QUERIES)
    assert network.encoded == [4, 2, 4, 2]


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        (np.array([[6, 1.0, 1.0]]), r"integers in \[0, 6\)"),
        (np.array([[1.5, 1.0, 1.0]]), "integers"),
        (np.array([[1, np.nan, 1.0]]), "finite"),
        (np.array([1, 1.0, 1.0]), r"\(N, 3\)"),
    ],
)
def test_queries_are_validated(queries: np.ndarray, message: str) -> None:
    predictor = CoTracker3Predictor(StandIn(), resolution=RESOLUTION)
    with pytest.raises(ValueError, match=message):
        predictor.track(video(), queries)


def test_video_and_resolution_are_validated() -> None:
    with pytest.raises(ValueError, match="multiples of 4"):
        CoTracker3Predictor(StandIn(), resolution=(30, 48))
    with pytest.raises(ValueError, match="window_overlap"):
        CoTracker3Predictor(StandIn(), window_len=20, window_overlap=7)
    predictor = CoTracker3Predictor(StandIn(), resolution=RESOLUTION)
    with pytest.raises(ValueError, match=r"RGB uint8 frames \(T, H, W, 3\)"):
        predictor.track(video().astype(np.float32), QUERIES)


@pytest.mark.parametrize("variant", ["offline", "online"])
def test_real_network_end_to_end(variant: str) -> None:
    network = build_cotracker3(variant)
    predictor = CoTracker3Predictor(network, iters=1, support_grid_size=2, resolution=RESOLUTION)
    assert predictor.backward_tracking == (variant == "online")
    result = predictor.track(video(), QUERIES)
    assert result.tracks.shape == (T, 3, 2) and result.tracks.dtype == np.float32
    assert np.isfinite(result.tracks).all()
    assert ((result.visibility >= 0) & (result.visibility <= 1)).all()


def single_run_reference(
    network: object, clip: np.ndarray, queries: np.ndarray, predictor: CoTracker3Predictor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The predictor without windows or streaming: the whole clip's pyramid, one run (and one
    run on the flipped pyramid for backward tracking), each with the support grid on its first
    frame, the query frames overwritten; tracks (T, N, 2) in video pixels, visibility,
    confidence (T, N)."""
    frames, n = clip.shape[0], queries.shape[0]
    resized = torch.nn.functional.interpolate(
        torch.from_numpy(clip).permute(0, 3, 1, 2).float(),
        RESOLUTION,
        mode="bilinear",
        align_corners=True,
    )
    h, w = RESOLUTION
    scale = torch.tensor([1.0, (w - 1) / (WIDTH - 1), (h - 1) / (HEIGHT - 1)])
    model_queries = torch.from_numpy(queries) * scale
    grid = points_on_a_grid(predictor.support_grid_size, RESOLUTION)
    support = torch.cat([torch.zeros(len(grid), 1), grid], dim=1)  # frame 0
    with torch.inference_mode():
        pyramid = network.features(resized[None], 4)  # type: ignore[attr-defined]
        out = network.track(  # type: ignore[attr-defined]
            pyramid, torch.cat([model_queries, support])[None], predictor.iters
        )
        tracks, vis, conf = out.tracks[0], out.visibility[0], out.confidence[0]
        if predictor.backward_tracking:
            flipped = model_queries.clone()
            flipped[:, 0] = frames - 1 - flipped[:, 0]
            back = network.track(  # type: ignore[attr-defined]
                [p.flip(1) for p in pyramid], torch.cat([flipped, support])[None], predictor.iters
            )  # the support grid on the first frame of the flipped clip
            before = torch.arange(frames)[:, None] < model_queries[None, :, 0]  # (T, N)
            tracks = torch.where(before[..., None], back.tracks[0].flip(0)[:, :n], tracks[:, :n])
            vis = torch.where(before, back.visibility[0].flip(0)[:, :n], vis[:, :n])
            conf = torch.where(before, back.confidence[0].flip(0)[:, :n], conf[:, :n])
    tracks, vis, conf = tracks[:, :n].numpy() / scale[1:].numpy(), vis[:, :n], conf[:, :n]
    own, index = queries[:, 0].astype(int), np.arange(n)
    tracks[own, index] = queries[:, 1:]
    vis, conf = vis.numpy().copy(), conf.numpy().copy()
    vis[own, index] = conf[own, index] = 1.0
    return tracks, vis, conf


@pytest.mark.parametrize("variant", ["offline", "online"])
def test_a_clip_within_one_window_gives_the_single_run_outputs(variant: str) -> None:
    torch.manual_seed(0)
    network = build_cotracker3(variant)
    predictor = CoTracker3Predictor(
        network, iters=2, support_grid_size=2, resolution=RESOLUTION, chunk_size=4
    )
    clip = video()
    result = predictor.track(clip, QUERIES)
    tracks, vis, conf = single_run_reference(network, clip, QUERIES, predictor)
    np.testing.assert_allclose(result.tracks, tracks, atol=1e-5)
    np.testing.assert_allclose(result.visibility, vis, atol=1e-6)
    np.testing.assert_allclose(result.confidence, conf, atol=1e-6)


LONG = 48  # frames of the long clip: 3 windows of 20 frames


def long_video() -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, (LONG, HEIGHT, WIDTH, 3), dtype=np.uint8)


LONG_QUERIES = np.array([[0, 3.0, 4.0], [24, 30.0, 20.0], [47, 12.5, 7.25]], dtype=np.float32)


@pytest.mark.parametrize("backward", [False, True])
def test_windows_are_stitched_without_jumps_at_the_seams(backward: bool) -> None:
    """The stand-in moves each query 1 model px per frame after its frame: stitched tracks
    must continue that motion through the re-seeded windows (and stay still before the query
    frame offline, move away from it backwards online)."""
    network = StandIn(shift=1.0)
    predictor = CoTracker3Predictor(
        network,
        resolution=RESOLUTION,
        backward_tracking=backward,
        window_len=20,
        window_overlap=6,
    )
    assert predictor.windows(LONG) == [(0, 20), (14, 34), (28, 48)]
    result = predictor.track(long_video(), LONG_QUERIES)
    assert result.tracks.shape == (LONG, 3, 2)
    assert result.visible.shape == result.confidence.shape == (LONG, 3)
    scale = np.array([(48 - 1) / (WIDTH - 1), (32 - 1) / (HEIGHT - 1)], dtype=np.float32)
    frames = np.arange(LONG)[:, None]
    steps = frames - LONG_QUERIES[None, :, 0]  # (T, N) frames after the query
    steps = np.abs(steps) if backward else np.clip(steps, 0, None)
    expected = LONG_QUERIES[None, :, 1:] + steps[..., None] / scale
    np.testing.assert_allclose(result.tracks, expected, rtol=1e-5, atol=1e-4)


def test_the_feature_cache_respects_its_budget_and_is_reused() -> None:
    one_window = 20 * RESOLUTION[0] * RESOLUTION[1] * 4  # stand-in pyramid: 1 channel, 1 level
    network = StandIn()
    predictor = CoTracker3Predictor(
        network,
        resolution=RESOLUTION,
        window_len=20,
        window_overlap=6,
        chunk_size=20,
        cache_bytes=3 * one_window,
    )
    predictor.track(long_video(), LONG_QUERIES)
    encoded = sum(network.encoded)
    assert encoded == 60  # 3 windows, each encoded once (the reverse sweep reuses them)
    assert predictor.cached_bytes == 3 * one_window
    predictor.track(long_video(), LONG_QUERIES[:2])  # a correction: no encoding
    assert sum(network.encoded) == encoded
    small = CoTracker3Predictor(
        StandIn(),
        resolution=RESOLUTION,
        window_len=20,
        window_overlap=6,
        chunk_size=20,
        cache_bytes=one_window,
    )
    small.track(long_video(), LONG_QUERIES)
    assert small.cached_bytes <= one_window


def test_real_network_on_a_clip_longer_than_the_window() -> None:
    network = build_cotracker3("offline")
    predictor = CoTracker3Predictor(
        network,
        iters=1,
        support_grid_size=2,
        resolution=(48, 64),
        window_len=20,
        window_overlap=6,
    )
    clip = np.repeat(long_video()[:1], 36, axis=0)  # a static textured scene, 2 windows
    result = predictor.track(clip, LONG_QUERIES[:2])
    assert result.tracks.shape == (36, 2, 2) and np.isfinite(result.tracks).all()
    assert ((result.visibility >= 0) & (result.visibility <= 1)).all()


def test_the_online_network_streams_a_long_clip_as_one_run() -> None:
    """The online variant is not windowed: it streams 16-frame chunks (8 new frames each) over
    the whole clip, forward and time-reversed, and gives the whole clip's single run (here 20
    frames, longer than the 14-frame windows); the network holds one chunk of features."""
    torch.manual_seed(0)
    network = build_cotracker3("online")
    chunks: list[int] = []
    support_frames: list[torch.Tensor] = []
    track_chunk = network.track_chunk

    def recording(pyramid: list[torch.Tensor], queries: torch.Tensor, iters: int = 4) -> None:
        chunks.append(pyramid[0].shape[1])
        support_frames.append(queries[0, -4:, 0])  # the 2 × 2 support grid
        track_chunk(pyramid, queries, iters)

    network.track_chunk = recording  # type: ignore[method-assign]
    predictor = CoTracker3Predictor(
        network,
        iters=1,
        support_grid_size=2,
        resolution=RESOLUTION,
        window_len=14,
        window_overlap=4,
        cache_bytes=0,
    )
    clip = long_video()[:20]
    queries = np.array([[0, 3.0, 4.0], [9, 30.0, 20.0], [19, 12.5, 7.25]], dtype=np.float32)
    result = predictor.track(clip, queries)
    assert chunks == 2 * [16, 12]  # chunks at frames 0 and 8, forward and reversed
    assert all((frames == 0).all() for frames in support_frames)  # on each stream's first frame
    tracks, vis, conf = single_run_reference(network, clip, queries, predictor)
    np.testing.assert_allclose(result.tracks, tracks, atol=1e-4)
    np.testing.assert_allclose(result.visibility, vis, atol=1e-5)
    np.testing.assert_allclose(result.confidence, conf, atol=1e-5)


@pytest.mark.parametrize("backward", [False, True])
def test_every_window_run_tracks_a_support_grid_on_its_seed_frame(backward: bool) -> None:
    """Windows (0, 20), (14, 34), (28, 48): the forward sweep runs each window with a grid on
    its first frame, the reverse sweep (queries at frames 24 and 47 need frames before their
    home windows) with a grid on its last frame, flipped to the first with backward tracking."""
    network = StandIn(shift=1.0)
    predictor = CoTracker3Predictor(
        network,
        resolution=RESOLUTION,
        backward_tracking=backward,
        window_len=20,
        window_overlap=6,
        support_grid_size=3,
    )
    predictor.track(long_video(), LONG_QUERIES)
    assert len(network.queries) == 6  # 3 windows forward, 3 in reverse
    grid = points_on_a_grid(3, RESOLUTION)
    for run, sent in enumerate(network.queries):
        support = sent[0, -9:]  # (G, 3) local (t, x, y)
        torch.testing.assert_close(support[:, 1:], grid)
        seed_frame = 19 if run >= 3 and not backward else 0
        assert (support[:, 0] == seed_frame).all(), run
