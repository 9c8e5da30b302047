"""The TAPIR predictor and tracker: pose3d's pixel convention through the raster convention and
the resizing (a translated clip tracked by the released architecture with a transparent
cost-volume head and a silent mixer, whose tracks are then the exact match positions), the
windows of long clips, the single-run outputs for a clip within one window (against the
fixture's reference run), progress and cancel. Memory and speed are measured in
benchmarks/tracking.py, not asserted here."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pose3d.tracking.base import PointTracker, TrackingCancelled
from pose3d.tracking.tapir import Tapir, build_tapir
from pose3d.tracking.tapir.model import Grids, QueryFeatures
from pose3d.tracking.tapir.predictor import TapirPredictor, model_size, window_starts
from pose3d.tracking.tapir_tracker import TapirTracker
from tests.support.tapir_kit import kit_dir, random_network

# frames of 128 × 192: the model size is 256 × 256 (the frame fits in it), where one lowres
# cell (8 px) is 6 × 4 frame px
FRAME = (128, 192)
MAX_SIDE = 96  # fits in 256 × 256: tracked at 256 × 256
STEP = np.array([6.0, 4.0])  # (x, y) frame px per frame: one lowres cell
# a lowres cell centre, (7.5, 5.5) cells = (60, 44) px at 256 -> frame raster (45, 22)
QUERY_XY = np.array([44.5, 21.5])


def transparent_network(seed: int = 0) -> Tapir:
    """The architecture with torch's random init, except: the cost-volume logits are the
    correlation itself (so the soft-argmax lands on the best-matching cell) and the mixer's
    output layer is zero (refinement leaves the estimate where it is)."""
    torch.manual_seed(seed)
    network = build_tapir("offline")
    head = network.torch_cost_volume_track_mods
    with torch.no_grad():
        for conv in (head.hid1, head.hid2):
            assert conv.bias is not None
            conv.weight.zero_()
            conv.bias.zero_()
        head.hid1.weight[:, 0, 1, 1] = 1.0
        head.hid2.weight[0, 0, 1, 1] = 1.0
        network.torch_pips_mixer.linear_1.weight.zero_()
        network.torch_pips_mixer.linear_1.bias.zero_()
    return network


def translated_clip(n_frames: int) -> np.ndarray:
    """(T, H, W, 3) uint8: a smooth periodic texture moving by STEP per frame."""
    rng = np.random.default_rng(3)
    noise = rng.random((*FRAME, 3)).astype(np.float32)
    tiled = cv2.GaussianBlur(np.tile(noise, (3, 3, 1)), (0, 0), 1.5)  # periodic blur
    texture = tiled[FRAME[0] : 2 * FRAME[0], FRAME[1] : 2 * FRAME[1]]
    texture = (texture - texture.min()) / np.ptp(texture) * 255
    shifts = [(int(STEP[1]) * t, int(STEP[0]) * t) for t in range(n_frames)]
    return np.stack([np.roll(texture, s, axis=(0, 1)) for s in shifts]).round().astype(np.uint8)


def expected_tracks(n_frames: int, query_frame: int) -> np.ndarray:
    """(T, 2): the query's texture point in every frame."""
    return QUERY_XY + STEP * (np.arange(n_frames)[:, None] - query_frame)


def test_model_size_fits_the_long_side_in_multiples_of_8() -> None:
    assert model_size(480, 640, 512) == (384, 512)
    assert model_size(1024, 1280, 512) == (408, 512)  # 409.6 -> 408
    assert model_size(600, 700, 300) == (256, 304)  # 257.1 -> 256, 300 -> 304
    assert model_size(200, 902, 1024) == (200, 904)  # never enlarged; 902 -> 904
    # anything that fits in 256 × 256 is tracked there: the network's training size, which it
    # would resize a smaller clip to (the frame is resampled once, not twice)
    assert model_size(480, 640) == (256, 256)  # the default, max_side 256
    assert model_size(64, 96, 512) == (256, 256)
    assert model_size(*FRAME, MAX_SIDE) == (256, 256)


def test_window_starts_cover_the_clip_and_end_at_its_end() -> None:
    assert window_starts(10, 48, 16) == [0]
    assert window_starts(100, 48, 16) == [0, 32, 52]
    assert window_starts(49, 48, 16) == [0, 1]


@pytest.mark.parametrize("query_frame", [0, 3])
def test_a_translated_clip_keeps_the_pixel_convention(query_frame: int) -> None:
    tracker = TapirTracker(TapirPredictor(transparent_network(), max_side=MAX_SIDE))
    assert isinstance(tracker, PointTracker) and tracker.name == "tapir"
    clip = translated_clip(6)
    queries = np.array([[query_frame, *(QUERY_XY + STEP * query_frame)]])
    result = tracker.track(clip, queries)
    assert result.tracks.shape == (6, 1, 2) and result.fb_error is None
    np.testing.assert_allclose(result.tracks[:, 0], expected_tracks(6, 0), atol=0.05)
    assert result.visibility[query_frame, 0] == 1.0 and result.confidence[query_frame, 0] == 1.0


def test_windows_of_a_long_clip_keep_every_frame_on_its_track() -> None:
    network = transparent_network()
    encoded: list[int] = []
    encode = network.encode

    def counting(
        video: torch.Tensor, size: tuple[int, int], out: Grids | None = None, at: int = 0
    ) -> Grids:
        encoded.append(video.shape[1])
        return encode(video, size, out, at)

    network.encode = counting  # type: ignore[method-assign]
    tracker = TapirTracker(TapirPredictor(network, max_side=MAX_SIDE, window=4, overlap=2))
    clip = translated_clip(11)  # windows 0-3, 2-5, 4-7, 6-9, 7-10
    queries = np.array([[5, *(QUERY_XY + STEP * 5)], [0, *QUERY_XY]])
    done: list[tuple[int, int]] = []
    result = tracker.track(clip, queries, progress=lambda d, total: done.append((d, total)))
    for column in (0, 1):
        np.testing.assert_allclose(result.tracks[:, column], expected_tracks(11, 0), atol=0.05)
    assert done[-1] == (22, 22)  # frames read, then frames tracked
    assert sum(encoded) == 2 + 11  # the 2 query frames, then every frame once (overlaps reused)
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_cancel_stops_tracking() -> None:
    tracker = TapirTracker(
        TapirPredictor(transparent_network(), max_side=MAX_SIDE, window=4, overlap=1)
    )
    cancel = threading.Event()

    def cancel_after_reading(done: int, total: int) -> None:
        if done >= total // 2:
            cancel.set()

    with pytest.raises(TrackingCancelled):
        tracker.track(
            translated_clip(8),
            np.array([[0, *QUERY_XY]]),
            progress=cancel_after_reading,
            cancel=cancel,
        )


def test_a_clip_within_one_window_gives_the_network_outputs() -> None:
    kit = kit_dir()
    if not (kit / "fixture_seed0.npz").is_file():
        pytest.skip(f"BootsTAPIR compatibility test: {kit} is absent (../shared/tapir)")
    with np.load(kit / "fixture_seed0.npz") as data:
        video, queries_tyx, reference = data["video_u8"], data["queries_tyx"][0], data["tracks"]
        occlusion = data["occlusion"]
    predictor = TapirPredictor(random_network(Path(kit)), max_side=256)
    frames = video[0].transpose(0, 2, 3, 1)  # (T, H, W, 3)
    queries = np.stack(
        [queries_tyx[:, 0], queries_tyx[:, 2] - 0.5, queries_tyx[:, 1] - 0.5], axis=-1
    )  # raster (t, y, x) -> pose3d (t, x, y)
    result = predictor.track(frames, queries)
    expected = reference[0].transpose(1, 0, 2) - 0.5  # (T, N, 2) pose3d px
    own = queries[:, 0].astype(int), np.arange(len(queries))
    expected[own] = queries[:, 1:]
    np.testing.assert_allclose(result.tracks, expected, atol=1e-2)
    visibility = 1 / (1 + np.exp(occlusion[0].T))
    visibility[own] = 1.0
    np.testing.assert_allclose(result.visibility, visibility, atol=1e-3)
    assert result.visible.dtype == bool


def test_queries_reach_the_network_as_raster_tyx_at_the_model_size() -> None:
    network = transparent_network()
    seen: list[torch.Tensor] = []
    query_features = network.query_features

    def recording(
        grids: Grids, queries: torch.Tensor, video_size: tuple[int, int, int]
    ) -> QueryFeatures:
        seen.append(queries.clone())
        return query_features(grids, queries, video_size)

    network.query_features = recording  # type: ignore[method-assign]
    tracker = TapirTracker(TapirPredictor(network, max_side=MAX_SIDE))
    tracker.track(translated_clip(3), np.array([[2, *QUERY_XY]]))
    # frame (44.5, 21.5) -> raster (45, 22) -> model (256 / 192, 256 / 128) -> (60, 44) as
    # (t, y, x), t counted among the frames that hold queries (one here: 0)
    np.testing.assert_allclose(seen[0][0].numpy(), [[0.0, 44.0, 60.0]], atol=1e-5)


def test_the_online_network_streams_a_long_clip_as_its_single_run() -> None:
    torch.manual_seed(2)
    network = build_tapir("online")
    clip = translated_clip(7)[:, ::2, ::2]  # (7, 64, 96, 3): model size, no resize
    queries = np.array([[0, 20.0, 10.0], [3, 40.5, 30.25], [6, 70.0, 50.0]])
    streamed = TapirPredictor(network, stream_chunk=3).track(clip, queries)  # 3 + 3 + 1
    video = torch.from_numpy(clip).float()[None] / 255 * 2 - 1
    tyx = torch.tensor(queries[:, [0, 2, 1]] + [0, 0.5, 0.5], dtype=torch.float32)[None]
    with torch.inference_mode():
        single = network(video, tyx)
    expected = single["tracks"][0].permute(1, 0, 2).numpy() - 0.5  # (T, N, 2) pose3d px
    own = queries[:, 0].astype(int), np.arange(3)
    expected[own] = queries[:, 1:]
    np.testing.assert_allclose(streamed.tracks, expected, atol=1e-3)
    occlusion = single["occlusion"][0].T.numpy()
    visibility = 1 / (1 + np.exp(occlusion))
    visibility[own] = 1.0
    np.testing.assert_allclose(streamed.visibility, visibility, atol=1e-4)
