"""write_video and write_image_folder: atomic, frame-exact through VideoReader, RGB order kept,
the encoder fallback, and one clear message for bad input."""

from __future__ import annotations

import os
import random
from pathlib import Path

import av
import numpy as np
import pytest

from pose3d.errors import VideoError
from pose3d.io import video_writing
from pose3d.io.video_reading import VideoReader
from pose3d.io.video_writing import write_image_folder, write_video
from tests.support.indexed_frames import FPS, H, N, W, indexed_frame, which_frame

# --- videos ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_channel_order_is_rgb(tmp_path: Path, suffix: str) -> None:
    frame = np.zeros((H, W, 3), np.uint8)
    frame[..., 0] = 220  # red
    frame[:, W // 2 :, 2] = 220  # right half magenta: red + blue
    with VideoReader(write_video(tmp_path / f"red{suffix}", [frame] * 3, FPS)) as reader:
        decoded = reader[1].astype(int)
    assert np.abs(decoded[8:-8, 8 : W // 2 - 8] - [220, 0, 0]).max() < 12
    assert np.abs(decoded[8:-8, W // 2 + 8 : -8] - [220, 0, 220]).max() < 12


def test_mp4_falls_back_to_mpeg4_without_libx264(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video_writing, "_has_encoder", lambda name: name != "libx264")
    path = write_video(tmp_path / "mpeg4.mp4", (indexed_frame(i) for i in range(N)), FPS)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    with VideoReader(path) as reader:
        order = random.Random(1).sample(range(N), N)
        assert [which_frame(reader[i]) for i in order] == order


def test_the_default_encoder_is_h264(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", [indexed_frame(i) for i in range(5)], FPS)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_write_video_is_atomic(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.mp4", [indexed_frame(i) for i in range(5)], FPS)
    before = path.read_bytes()
    bad = [indexed_frame(0), np.zeros((H + 2, W, 3), np.uint8)]
    with pytest.raises(VideoError, match=r"frame 1 is 64×50 px, expected 64×48"):
        write_video(path, bad, FPS)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


@pytest.mark.parametrize(
    ("name", "frames", "message"),
    [
        ("a.mp4", [], "no frames given"),
        ("a.mp4", [np.zeros((H, W + 1, 3), np.uint8)], r"65×48 px, expected even width"),
        ("a.mp4", [np.zeros((H, W), np.uint8)], r"expected an RGB uint8 array \(H, W, 3\)"),
        ("a.webm", [np.zeros((H, W, 3), np.uint8)], r"expected one of \.mp4, \.mov"),
    ],
)
def test_write_video_rejects_bad_input(
    tmp_path: Path, name: str, frames: list[np.ndarray], message: str
) -> None:
    with pytest.raises(VideoError, match=message):
        write_video(tmp_path / name, frames, FPS)
    assert os.listdir(tmp_path) == []


# --- image folders ---------------------------------------------------------------------------


def test_write_image_folder_round_trip_and_replace(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    paths = write_image_folder(folder, (indexed_frame(i) for i in range(12)))
    assert [p.name for p in paths][:2] == ["frame_000000.png", "frame_000001.png"]
    with VideoReader(folder) as reader:
        assert len(reader) == 12
        for i in range(12):
            np.testing.assert_array_equal(reader[i], indexed_frame(i))
    write_image_folder(folder, [indexed_frame(i) for i in range(3)])  # fewer: no stale frames
    assert sorted(os.listdir(folder)) == [f"frame_{i:06d}.png" for i in range(3)]
    with pytest.raises(VideoError, match=r"frame 1 is 64×50 px"):
        write_image_folder(folder, [indexed_frame(0), np.zeros((H + 2, W, 3), np.uint8)])
    assert len(os.listdir(folder)) == 3
    assert sorted(os.listdir(tmp_path)) == ["frames"]  # no temporary folder left behind


def test_write_image_folder_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(VideoError, match=r"holds other files \(e\.g\. keep\.txt\)"):
        write_image_folder(tmp_path, [indexed_frame(0)])
    assert os.listdir(tmp_path) == ["keep.txt"]
