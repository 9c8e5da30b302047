"""The CoTracker3 network's conventions on analytic inputs (sampling, support grid, encodings)
and its behaviour on tiny clips (shapes, chunking, sliding windows vs streaming, input errors)."""

from __future__ import annotations

import math

import pytest
import torch

from pose3d.tracking.cotracker3 import CoTracker3Offline, CoTracker3Online, build_cotracker3
from pose3d.tracking.cotracker3.correlation import (
    bilinear_sampler,
    local_correlation,
    sample_query_support,
    support_offsets,
)
from pose3d.tracking.cotracker3.embeddings import interpolate_time_emb, posenc, sincos_time_table

H, W = 32, 48  # tiny frames: 8×12 feature maps


def linear_map(t: int = 1) -> torch.Tensor:
    """(1, 1, t, H, W) whose value at frame f, pixel (x, y) is 1000 f + 100 y + x."""
    f = torch.arange(t, dtype=torch.float32)[:, None, None]
    y = torch.arange(H, dtype=torch.float32)[None, :, None]
    x = torch.arange(W, dtype=torch.float32)[None, None, :]
    return (1000 * f + 100 * y + x)[None, None]


def test_support_grid_first_axis_varies_x() -> None:
    offsets = support_offsets(3)  # (49, 2) as (dx, dy)
    assert offsets.shape == (49, 2)
    for k, (dx, dy) in enumerate(offsets.tolist()):
        assert (dx, dy) == (k // 7 - 3, k % 7 - 3)


def test_bilinear_sampler_uses_pixel_centres_and_clamps_at_the_border() -> None:
    maps = linear_map()[:, :, 0]  # (1, 1, H, W)
    coords = torch.tensor([[[[2.5, 1.25], [-3.0, 0.0], [W + 5.0, H - 1.0]]]])  # (1, 1, 3, 2)
    values = bilinear_sampler(maps, coords)[0, 0, 0]
    expected = torch.tensor([2.5 + 125.0, 0.0, (W - 1) + 100.0 * (H - 1)])
    torch.testing.assert_close(values, expected)


def test_bilinear_sampler_5d_takes_t_x_y() -> None:
    maps = linear_map(t=3)  # (1, 1, 3, H, W)
    coords = torch.tensor([[[[2.0, 1.0, 3.0], [0.5, 4.0, 0.0]]]])  # (1, 1, 2, 3) as (t, x, y)
    values = bilinear_sampler(maps, coords[:, :, :, None])[0, 0, 0, :, 0]
    torch.testing.assert_close(values, torch.tensor([2301.0, 504.0]))


def test_query_support_samples_the_query_frame_around_the_query() -> None:
    fmaps = linear_map(t=3).permute(0, 2, 1, 3, 4)  # (1, T=3, C=1, H, W)
    frames = torch.tensor([[2]])
    xy = torch.tensor([[[10.0, 12.5]]])
    support = sample_query_support(fmaps, frames, xy, radius=3)  # (1, 1, 49, 1)
    dx, dy = support_offsets(3).unbind(-1)
    torch.testing.assert_close(support[0, 0, :, 0], 2000 + 100 * (12.5 + dy) + (10 + dx))


def test_correlation_flattens_target_outer_query_inner() -> None:
    target = torch.randn(1, 1, 1, 49, 5)
    support = torch.randn(1, 1, 49, 5)
    corr = local_correlation(target, support)  # (1, 1, 1, 2401)
    k, q = 17, 40
    torch.testing.assert_close(corr[0, 0, 0, k * 49 + q], target[0, 0, 0, k] @ support[0, 0, q])


def test_posenc_layout_is_value_then_sines_then_cosines_frequency_major() -> None:
    x = torch.tensor([0.3, -0.7])
    out = posenc(x, 0, 2)
    a, b = x.tolist()
    expected = [a, b] + [math.sin(v) for v in (a, b, 2 * a, 2 * b)]
    expected += [math.cos(v) for v in (a, b, 2 * a, 2 * b)]
    torch.testing.assert_close(out, torch.tensor(expected))
    assert posenc(torch.zeros(3, 4), 0, 10).shape == (3, 84)


def test_time_table_and_its_stretching() -> None:
    table = sincos_time_table(5, 6)  # (1, 5, 6)
    omega = [10000 ** (-k / 3) for k in range(3)]
    expected = [math.sin(4 * w) for w in omega] + [math.cos(4 * w) for w in omega]
    torch.testing.assert_close(table[0, 4], torch.tensor(expected))
    assert interpolate_time_emb(table, 5) is table
    stretched = interpolate_time_emb(table, 9)
    assert stretched.shape == (1, 9, 6)
    torch.testing.assert_close(stretched[0, 0], table[0, 0])  # align_corners=False keeps ends
    torch.testing.assert_close(stretched[0, -1], table[0, -1])


@pytest.fixture(scope="module")
def offline() -> CoTracker3Offline:
    return build_cotracker3("offline")


@pytest.fixture(scope="module")
def online() -> CoTracker3Online:
    return build_cotracker3("online")


def clip(t: int, seed: int = 0) -> torch.Tensor:
    """(1, t, 3, H, W) float video in 0..255."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (1, t, 3, H, W), generator=generator).float()


QUERIES = torch.tensor([[[0.0, 10.0, 7.0], [5.0, 40.0, 20.0], [13.0, 2.0, 30.5]]])  # (1, 3, 3)


def test_offline_shapes_probabilities_and_encoder_chunking(offline: CoTracker3Offline) -> None:
    video = clip(3)
    queries = QUERIES[:, :2].clone()
    queries[..., 0] = torch.tensor([0.0, 2.0])
    with torch.inference_mode():
        whole = offline(video, queries, iters=1)
        chunked = offline(video, queries, iters=1, fmaps_chunk_size=1)
    assert whole.tracks.shape == (1, 3, 2, 2)
    assert whole.visibility.shape == whole.confidence.shape == (1, 3, 2)
    assert ((whole.visibility > 0) & (whole.visibility < 1)).all()
    for ours, other in zip(whole, chunked, strict=True):
        torch.testing.assert_close(ours, other, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("frames", [20, 24])
def test_streaming_reproduces_the_sliding_windows(online: CoTracker3Online, frames: int) -> None:
    video = clip(frames, seed=frames)
    with torch.inference_mode():
        sliding = online(video, QUERIES, iters=1)
        online.init_video_online_processing()
        for i in range(0, frames - 8, 8):
            streamed = online(video[:, i : i + 16], QUERIES, iters=1, is_online=True)
    assert sliding.tracks.shape == streamed.tracks.shape == (1, frames, 3, 2)
    for ours, other in zip(sliding, streamed, strict=True):
        torch.testing.assert_close(ours, other, atol=1e-4, rtol=1e-4)


def test_sliding_runs_one_window_on_clips_shorter_than_a_half_window(
    online: CoTracker3Online,
) -> None:
    with torch.inference_mode():
        out = online(clip(5), QUERIES[:, :1], iters=1)
    assert out.tracks.shape == (1, 5, 1, 2)
    assert (out.tracks != 0).any(dim=-1).all()  # every frame predicted, none left at zero


def test_streaming_reuses_the_features_of_the_overlap(
    online: CoTracker3Online, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[int] = []
    encode = online.encode

    def counting(video: torch.Tensor, chunk_size: int = 200) -> torch.Tensor:
        encoded.append(video.shape[1])
        return encode(video, chunk_size)

    monkeypatch.setattr(online, "encode", counting)
    video = clip(32)
    online.init_video_online_processing()
    with torch.inference_mode():
        online(video[:, 0:16], QUERIES, iters=1, is_online=True)
        online(video[:, 8:24], QUERIES, iters=1, is_online=True)  # overlap matches: 8 new
        changed = video[:, 16:32].clone()
        changed[:, 0] += 1
        online(changed, QUERIES, iters=1, is_online=True)  # overlap differs: all 16
    assert encoded == [16, 8, 16]


def test_streaming_rejects_chunks_that_do_not_follow(online: CoTracker3Online) -> None:
    video = clip(24)
    online.init_video_online_processing()
    with torch.inference_mode():
        with pytest.raises(ValueError, match="1 to 16 frames"):
            online(video[:, :17], QUERIES, is_online=True)
        online(video[:, :12], QUERIES, iters=1, is_online=True)
        with pytest.raises(ValueError, match="must repeat the 8 frames before it"):
            online(video[:, 8:24], QUERIES, iters=1, is_online=True)
        online.init_video_online_processing()
        online(video[:, :16], QUERIES, iters=1, is_online=True)
        with pytest.raises(ValueError, match="queries are fixed for a stream"):
            online(video[:, 8:24], QUERIES[:, :2], iters=1, is_online=True)


@pytest.mark.parametrize(
    ("video", "queries", "message"),
    [
        (torch.zeros(1, 2, 3, 30, 48), QUERIES, "multiples of 4"),
        (torch.zeros(1, 2, 3, 32, 48, dtype=torch.uint8), QUERIES, "video.float()"),
        (torch.zeros(2, 3, 32, 48), QUERIES, r"\(B, T, 3, H, W\)"),
        (torch.zeros(1, 2, 3, 32, 48), QUERIES[..., :2], r"\(B=1, N, 3\) as \(t, x, y\)"),
    ],
)
def test_inputs_are_validated(
    offline: CoTracker3Offline, video: torch.Tensor, queries: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        offline(video, queries)
