"""What a camera's video holds, without decoding it: frame count, rate and size for ``pose3d
info`` (:func:`probe_video`, which never raises), and the frame size alone from the file's
header (:func:`frame_size`, cheap: no indexing)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pose3d.errors import Pose3dError, VideoError
from pose3d.io.video_reading import EXPECTED_MEDIA, VideoReader, refuse_non_regular


@dataclass(frozen=True)
class VideoInfo:
    """What a camera's video holds, or why it cannot be read."""

    camera: str
    path: Path
    offset: int
    n_frames: int | None = None
    fps: float | None = None
    size: tuple[int, int] | None = None
    error: str | None = None


def probe_video(name: str, path: Path, offset: int = 0) -> VideoInfo:
    """What camera ``name``'s video holds, or why it cannot be read (never raises)."""
    try:
        with VideoReader(path) as reader:
            return VideoInfo(name, path, offset, reader.n_frames, reader.fps, reader.size)
    except Pose3dError as exc:  # every reason a video cannot be read
        return VideoInfo(name, path, offset, error=str(exc))


def frame_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of the frames of a video (from its header: no indexing, unlike opening a
    `VideoReader`) or an image folder (its first image); raises VideoError as the reader does."""
    path = Path(path)
    if path.is_dir() or not path.exists():
        with VideoReader(path) as reader:
            return reader.size
    refuse_non_regular(path, f"expected {EXPECTED_MEDIA}")
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return int(stream.codec_context.width), int(stream.codec_context.height)
    except (av.FFmpegError, IndexError, UnicodeDecodeError, OSError) as exc:
        raise VideoError(
            f"{path} cannot be read as a video ({exc}); expected {EXPECTED_MEDIA}"
        ) from None
