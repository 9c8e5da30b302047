"""Writing RGB frames to a video file or a folder of lossless PNGs, atomically.

`write_video` encodes H.264 (libx264) into .mp4/.mov/.mkv, falling back to MPEG-4 part 2 when
the PyAV build has no libx264 (and always in .avi); `write_image_folder` writes
frame_000000.png, frame_000001.png, … and replaces the folder in one step. Frames are RGB uint8
arrays (H, W, 3), as `pose3d.io.video_reading.VideoReader` returns them, and all frames of one
output must have one size. Reading: `pose3d.io.video_reading`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from pose3d.errors import VideoError
from pose3d.io.atomic import atomic_path
from pose3d.io.video_reading import Frame

_QP2LAMBDA = 118  # FFmpeg's factor from a quantiser (qscale) to global_quality units
_CONTAINERS = {  # suffix -> (muxer, encoders in order of preference)
    ".mp4": ("mp4", ("libx264", "mpeg4")),
    ".mov": ("mov", ("libx264", "mpeg4")),
    ".mkv": ("matroska", ("libx264", "mpeg4")),
    ".avi": ("avi", ("mpeg4",)),
}
_FRAME_NAME = re.compile(r"frame_\d{6}\.png")


def _has_encoder(name: str) -> bool:
    import av

    try:
        av.Codec(name, "w")
    except ValueError:  # av.codec.codec.UnknownCodecError
        return False
    return True


def _checked(frame: Any, index: int, size: tuple[int, int] | None) -> Frame:
    array = np.asarray(frame)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise VideoError(
            f"frame {index}: expected an RGB uint8 array (H, W, 3), got {array.dtype} {array.shape}"
        )
    if size is not None and (array.shape[1], array.shape[0]) != size:
        raise VideoError(
            f"frame {index} is {array.shape[1]}×{array.shape[0]} px, expected {size[0]}×{size[1]}"
            " like frame 0: all frames must have one size"
        )
    return np.ascontiguousarray(array)


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[Frame],
    fps: float,
    *,
    crf: int = 17,
    gop_size: int = 30,
) -> Path:
    """Write RGB uint8 frames (H, W, 3) to a video atomically and return its path.

    .mp4/.mov/.mkv hold H.264 (libx264, ``crf`` 17 = visually lossless, yuv420p, a keyframe
    every ``gop_size`` frames; mp4/mov get their index first, so a cut copy stays readable);
    without libx264 in the PyAV build, and always in .avi, MPEG-4 part 2 at quantiser 2 (near
    its best quality). Width and height must be even (yuv420p).
    """
    import av

    target = Path(path)
    if target.suffix.lower() not in _CONTAINERS:
        raise VideoError(f"cannot write {target}: expected one of {', '.join(_CONTAINERS)}")
    if not (np.isfinite(fps) and fps > 0) or not 0 <= crf <= 51 or gop_size < 1:
        raise VideoError(f"cannot write {target}: expected fps > 0, 0 <= crf <= 51, gop_size >= 1")
    muxer, encoders = _CONTAINERS[target.suffix.lower()]
    codec = next((name for name in encoders if _has_encoder(name)), None)
    if codec is None:
        raise VideoError(f"cannot write {target}: this PyAV build has none of {encoders}")
    target.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if muxer in ("mp4", "mov") else {}
    with atomic_path(target) as tmp, av.open(str(tmp), "w", format=muxer, options=options) as out:
        stream: Any = None
        for i, frame in enumerate(frames):
            array = _checked(frame, i, None if stream is None else (stream.width, stream.height))
            if stream is None:
                stream = _add_stream(out, codec, array, fps, crf, gop_size, target)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                out.mux(packet)
        if stream is None:
            raise VideoError(f"cannot write {target}: no frames given")
        out.mux(stream.encode(None))
    return target


def _add_stream(
    out: Any, codec: str, first: Frame, fps: float, crf: int, gop_size: int, target: Path
) -> Any:
    height, width = first.shape[:2]
    if width % 2 or height % 2:
        raise VideoError(
            f"cannot write {target}: frames are {width}×{height} px, expected even width and "
            "height for yuv420p video; crop or pad by one pixel, or write an image folder"
        )
    stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.gop_size = gop_size
    if codec == "libx264":
        stream.options = {"crf": str(crf), "preset": "medium"}
    else:
        stream.codec_context.qscale = True
        stream.codec_context.global_quality = 2 * _QP2LAMBDA
    return stream


def write_png(path: str | os.PathLike[str], image: Frame, what: str = "picture") -> Path:
    """Write an RGB uint8 image (H, W, 3) to the PNG ``path``, atomically; ``what`` names it in
    the message a wrong suffix or a failed encoding raises."""
    import cv2

    from pose3d.errors import Pose3dError

    target = Path(path)
    if target.suffix.lower() != ".png":
        raise Pose3dError(f"cannot write {what} {target}: expected a .png file")
    ok, data = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise Pose3dError(f"cannot encode {what} {target} as PNG")
    with atomic_path(target) as tmp:
        tmp.write_bytes(data.tobytes())
    return target


def write_image_folder(folder: str | os.PathLike[str], frames: Iterable[Frame]) -> list[Path]:
    """Write RGB uint8 frames (H, W, 3) as lossless PNGs frame_000000.png, frame_000001.png, …

    The images are written to a temporary folder beside ``folder`` that then replaces it, so a
    reader never sees a mix of old and new frames. An existing ``folder`` is replaced only if it
    holds nothing but frame_NNNNNN.png files (an earlier output). Returns the written paths.
    """
    import cv2

    target = Path(folder)
    if target.exists():
        names = [p.name for p in target.iterdir()] if target.is_dir() else [target.name]
        foreign = sorted(n for n in names if not _FRAME_NAME.fullmatch(n))
        if foreign:
            raise VideoError(
                f"cannot write frames to {target}: it holds other files (e.g. {foreign[0]}); "
                "expected a new folder or one written by write_image_folder"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        size: tuple[int, int] | None = None
        names = []
        for i, frame in enumerate(frames):
            array = _checked(frame, i, size)
            size = (array.shape[1], array.shape[0])
            ok, png = cv2.imencode(".png", cv2.cvtColor(array, cv2.COLOR_RGB2BGR))
            if not ok:
                raise VideoError(f"cannot encode frame {i} as PNG")
            names.append(f"frame_{i:06d}.png")
            with open(tmp / names[-1], "wb") as fh:
                fh.write(png.tobytes())
                os.fsync(fh.fileno())
        if not names:
            raise VideoError(f"cannot write {target}: no frames given")
        old = tmp.with_name(tmp.name + ".old")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return [target / name for name in names]
