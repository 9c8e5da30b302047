"""Frame-exact reading of videos and image folders, and the session's frame offsets.

One reader, `VideoReader`, opens a video file (.mp4, .avi, .mov, .mkv, decoded with PyAV) or a
folder of images (.png, .jpg, .jpeg, .bmp, .tif, .tiff, in natural order: frame2 < frame10).
Every frame comes out as an RGB uint8 array of shape (H, W, 3): channel 0 is red.

Video files are indexed on open: their packets are demuxed once (read, not decoded) and sorted
by presentation timestamp (pts), so frame i is the i-th pts and the frame count is exact even
when the container's own count is 0 or wrong (opening reads the file once, like copying it).
``reader[i]`` seeks to the last keyframe at or before frame i and decodes forward; sequential
reads continue the decoder without seeking.

Truncated files (a copy or a recording cut short): an .mp4/.mov whose index (moov atom) was
lost cannot be opened and raises `VideoError`. Other truncated files open, and the reader
exposes exactly the frames it can decode correctly: partial packets at the cut are dropped, and
so are frames whose pts lie beyond a gap left by packets missing from the end of the stream
(B-frames), so that no index ever returns another frame. Reading past that end raises
`FrameIndexError` naming the index, the number of readable frames and the container's own count.

Frame offsets between cameras follow the session convention: camera j's frame i is session
frame i + offset_j (`session_to_camera_frame`, `camera_to_session_frame`).

A reader is not thread-safe: open one per thread. Writing videos and image folders:
`pose3d.io.video_writing`.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import VideoError
from pose3d.io.file_kinds import FOLDER, REGULAR, kind

Frame = NDArray[np.uint8]  # (H, W, 3) RGB

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
EXPECTED_MEDIA = f"a video ({', '.join(VIDEO_SUFFIXES)}) or a folder of images"


class FrameIndexError(VideoError, IndexError):
    """A frame index outside the frames a reader can return."""


def session_to_camera_frame(session_frame: int, offset: int) -> int:
    """Return the camera frame that shows session frame ``session_frame``.

    Convention: camera j's frame i is session frame ``i + offset_j``, so camera frame =
    session frame - offset. A camera with offset 3 started 3 frames after the session clock:
    session frame 10 is its frame 7. The result can be negative or past the camera's last frame
    (the camera did not film that moment); compare it with ``len(reader)``.
    """
    return session_frame - offset


def camera_to_session_frame(camera_frame: int, offset: int) -> int:
    """Return the session frame shown by camera frame ``camera_frame`` (camera frame + offset)."""
    return camera_frame + offset


def natural_sort_key(name: str) -> tuple[list[int | str], str]:
    """Sort key that orders digit runs by value: frame2.png < frame10.png (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())  # digit runs at the odd positions
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


class _FrameSource(Protocol):
    n_frames: int
    fps: float | None
    size: tuple[int, int]
    missing_note: str  # why frames may be missing, appended to out-of-range messages

    def read(self, index: int) -> Frame: ...

    def close(self) -> None: ...


class VideoReader:
    """Frame-exact random and sequential access to a video file or an image folder.

    ``reader[i]`` / ``reader.read(i)`` return frame i as an RGB uint8 array (H, W, 3); negative
    indices count from the end. ``fps`` is the stream's average rate for videos, or the ``fps``
    argument (default None) for image folders; a value given for a video overrides the
    container's. ``size`` is (width, height). Image sizes in a folder are checked as each image
    is read. Use as a context manager or call `close`.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float | None = None) -> None:
        self.path = Path(path)
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise VideoError(f"{self.path}: fps must be a positive number, got {fps!r}")
        self._source: _FrameSource | None = _open_source(self.path, fps)

    @property
    def n_frames(self) -> int:
        return self._open().n_frames

    @property
    def fps(self) -> float | None:
        return self._open().fps

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._open().size

    def __len__(self) -> int:
        return self.n_frames

    def read(self, index: int) -> Frame:
        """Return frame ``index`` as RGB uint8 (H, W, 3)."""
        source = self._open()
        i = operator.index(index)
        n = source.n_frames
        if not -n <= i < n:
            raise FrameIndexError(
                f"frame {i} is out of range for {self.path}: it has {n} readable frames "
                f"(0–{n - 1}){source.missing_note}"
            )
        return source.read(i % n)

    __getitem__ = read

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Yield frames ``start`` to ``stop - 1`` (default: to the end), decoding sequentially."""
        n = self.n_frames
        stop = n if stop is None else stop
        if not 0 <= start <= stop <= n:
            raise FrameIndexError(
                f"frames {start}–{stop} are out of range for {self.path}: expected "
                f"0 <= start <= stop <= {n}{self._open().missing_note}"
            )
        return (self.read(i) for i in range(start, stop))

    def __iter__(self) -> Iterator[Frame]:
        return self.iter_frames()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._source is None:
            return f"VideoReader({str(self.path)!r}, closed)"
        return f"VideoReader({str(self.path)!r}, n_frames={self.n_frames}, size={self.size})"

    def _open(self) -> _FrameSource:
        if self._source is None:
            raise VideoError(f"{self.path}: the reader is closed; open a new VideoReader")
        return self._source


def _open_source(path: Path, fps: float | None) -> _FrameSource:
    if path.is_dir():
        return _ImageFolder(path, fps)
    if not path.exists():
        raise VideoError(f"{path} not found: expected {EXPECTED_MEDIA}; check the path")
    refuse_non_regular(
        path,
        f"expected {EXPECTED_MEDIA}; point the camera at the recorded file itself (a pipe or a "
        "device cannot be read frame by frame)",
    )
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise VideoError(f"{path} is not {EXPECTED_MEDIA}; convert it to .mp4 (e.g. with ffmpeg)")
    return _AVVideo(path, fps)


def refuse_non_regular(path: Path, what_to_do: str) -> None:
    """Refuse a FIFO, socket or device (after symlinks): opening one can block forever."""
    try:
        found = kind(path.stat().st_mode)
    except OSError:
        return  # gone, or a dangling link: the open will say so
    if found not in (REGULAR, FOLDER):
        raise VideoError(f"{path} is {found}, not a file: {what_to_do}")


# --- image folders -------------------------------------------------------------------------


class _ImageFolder:
    missing_note = ""

    def __init__(self, folder: Path, fps: float | None) -> None:
        expected = f"expected images ({', '.join(IMAGE_SUFFIXES)}) named in frame order"
        visible = [p for p in folder.iterdir() if not p.name.startswith(".")]
        for p in visible:
            if p.suffix.lower() in IMAGE_SUFFIXES:
                refuse_non_regular(
                    p,
                    f"replace it with the image, or remove it (skipping it would shift every "
                    f"later frame of image folder {folder})",
                )
        entries = [p for p in visible if p.is_file()]
        images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
        if not entries:
            raise VideoError(f"image folder {folder} is empty: {expected}")
        if not images:
            example = sorted(p.name for p in entries)[0]
            raise VideoError(
                f"image folder {folder} holds no images ({len(entries)} other files, e.g. "
                f"{example}): {expected}"
            )
        self._files = sorted(images, key=lambda p: natural_sort_key(p.name))
        self.n_frames = len(self._files)
        self.fps = fps
        first = self._load(self._files[0])
        self.size = (first.shape[1], first.shape[0])

    def read(self, index: int) -> Frame:
        path = self._files[index]
        image = self._load(path)
        if (image.shape[1], image.shape[0]) != self.size:
            raise VideoError(
                f"{path} is {image.shape[1]}×{image.shape[0]} px but {self._files[0].name} is "
                f"{self.size[0]}×{self.size[1]}: all images of a folder must have one size"
            )
        return image

    def close(self) -> None:
        pass

    @staticmethod
    def _load(path: Path) -> Frame:
        import cv2

        data = np.fromfile(path, dtype=np.uint8)  # not cv2.imread: it fails on non-ASCII paths
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if bgr is None:
            raise VideoError(f"{path} cannot be decoded as an image; replace or remove it")
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


# --- video files ---------------------------------------------------------------------------


class _Packet(NamedTuple):
    pts: int
    dts: int | None  # None where the container gives none (the first packets of a .mkv)
    is_keyframe: bool
    is_corrupt: bool


_MAX_REORDER = 16  # the most frames a codec stores ahead of their display (H.264, HEVC)


@dataclass(frozen=True)
class _FrameTable:
    pts: NDArray[np.int64]  # (n_frames,) ascending: frame i has pts[i]
    keyframes: NDArray[np.int64]  # ascending frame indices of keyframes
    damaged: NDArray[np.bool_]  # (n_frames,) decodes after a corrupt packet, before a keyframe
    n_dropped: int  # frames at the end left out because packets are partial or missing


def _frame_table(packets: Sequence[_Packet], frame_step: float | None = None) -> _FrameTable:
    """Map frames to pts from the packets of a stream in decode order.

    ``frame_step`` is the nominal pts step between frames (from the frame rate), if known.
    """
    packets = list(packets)
    n_dropped = 0
    while packets and packets[-1].is_corrupt:  # a partial packet where the file was cut
        packets.pop()
        n_dropped += 1
    damaged_pts: set[int] = set()
    broken = False
    for p in packets:
        broken = p.is_corrupt or (broken and not p.is_keyframe)
        if broken:
            damaged_pts.add(p.pts)
    pts = np.sort(np.array([p.pts for p in packets], dtype=np.int64))
    n = len(pts)
    if n > 1:
        # Packets cut from the end of the decode order may leave gaps in the last pts (B-frames
        # are stored after the later frames they refer to). A missing frame has a pts above the
        # last dts, and lies within the last _MAX_REORDER frames: keep frames up to a gap there.
        step = np.diff(pts)
        limit = 1.5 * min(float(np.median(step)), frame_step or np.inf)
        last_dts = max((p.dts for p in packets if p.dts is not None), default=-np.inf)
        tail = (pts[1:] > last_dts) & (np.arange(1, n) >= n - _MAX_REORDER)
        gaps = np.flatnonzero((step > limit) & tail)
        if gaps.size:
            n = int(gaps[0]) + 1
    n_dropped += len(pts) - n
    pts = pts[:n]
    is_key = {p.pts for p in packets if p.is_keyframe}
    return _FrameTable(
        pts=pts,
        keyframes=np.array([i for i, t in enumerate(pts) if t in is_key], dtype=np.int64),
        damaged=np.array([t in damaged_pts for t in pts], dtype=bool),
        n_dropped=n_dropped,
    )


class _AVVideo:
    def __init__(self, path: Path, fps: float | None) -> None:
        import av

        self._path = path
        self._av_error = av.FFmpegError
        try:
            self._container: Any = av.open(str(path))
        except (av.FFmpegError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise VideoError(
                f"{path} cannot be opened as a video ({reason}): expected a playable video; a "
                "renamed non-video, or an .mp4/.mov whose recording or copy was interrupted "
                "(its index is missing), cannot be read: copy or export it again"
            ) from None
        try:
            self._init_stream(fps)
        except BaseException:
            self._container.close()
            raise
        self._frames: Iterator[tuple[int, Any]] | None = None
        self._last: tuple[int, Any] | None = None  # the last decoded (index, av.VideoFrame)
        self._seeks = 0

    def _init_stream(self, fps: float | None) -> None:
        if not self._container.streams.video:
            raise VideoError(f"{self._path} has no video stream: expected {EXPECTED_MEDIA}")
        self._stream = stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        packets, complete = self._scan()
        rate, time_base = stream.average_rate, stream.time_base
        self._table = table = _frame_table(packets, 1 / (rate * time_base) if rate else None)
        self.n_frames = len(table.pts)
        if self.n_frames == 0:
            raise VideoError(f"{self._path} contains no readable frames: expected {EXPECTED_MEDIA}")
        self._index_of = {int(t): i for i, t in enumerate(table.pts)}
        rate = rate or stream.guessed_rate
        self.fps = fps if fps is not None else (float(rate) if rate else None)
        self.size = (int(stream.codec_context.width), int(stream.codec_context.height))
        self.missing_note = self._truncation_note(complete and not table.n_dropped)

    def _truncation_note(self, complete: bool) -> str:
        """Explain, for out-of-range messages, why the file may hold fewer frames than expected."""
        n, declared = self.n_frames, int(self._stream.frames or 0)
        rate, duration = self._stream.average_rate, self._container.duration
        estimate = round(duration / 1e6 * float(rate)) if rate and duration else 0
        if declared > n:
            found = f"the container declares {declared} frames"
        elif not declared and estimate > n + 1:
            found = f"its duration suggests about {estimate} frames"
        elif not complete:
            found = "it ends in incomplete data"
        else:
            return ""
        return f"; {found}, so the file looks truncated: copy or export it again to read the rest"

    def _scan(self) -> tuple[list[_Packet], bool]:
        """Return the stream's packets in decode order and whether demuxing reached the end."""
        packets = []
        complete = True
        try:
            for p in self._container.demux(self._stream):
                pts = p.pts if p.pts is not None else p.dts
                if pts is not None and not p.is_discard:
                    packets.append(_Packet(pts, p.dts, p.is_keyframe, p.is_corrupt))
        except self._av_error:  # unreadable data after the last complete packet
            complete = False
        if len({p.pts for p in packets}) < len(packets):
            raise VideoError(
                f"{self._path} has frames with duplicate timestamps, so frames cannot be "
                "located exactly: remux it (ffmpeg -i IN -c:v libx264 OUT.mp4)"
            )
        return packets, complete

    def read(self, index: int) -> Frame:
        if self._table.damaged[index]:
            raise VideoError(
                f"frame {index} of {self._path} is damaged (corrupt data before it since the "
                "last keyframe); other frames read fine; re-copy the file to read this one"
            )
        if self._last is None or self._last[0] != index:
            self._decode_to(index)
        assert self._last is not None
        return np.asarray(self._last[1].to_ndarray(format="rgb24"), dtype=np.uint8)

    def close(self) -> None:
        self._frames = self._last = None
        self._container.close()

    def _decode_to(self, index: int) -> None:
        keys = self._table.keyframes
        before = keys[keys <= index]
        k = int(before[-1]) if before.size else 0
        if self._frames is None or self._last is None or not k - 1 <= self._last[0] < index:
            self._seek(k)
        if not self._advance(index):  # the seek landed after the frame: start from the top
            self._seek(0)
            if not self._advance(index):
                raise VideoError(
                    f"frame {index} of {self._path} could not be decoded although its data is "
                    f"present ({self.n_frames} frames indexed); re-encode the video"
                )

    def _seek(self, keyframe: int) -> None:
        self._seeks += 1
        self._last = None
        self._container.seek(int(self._table.pts[keyframe]), stream=self._stream, backward=True)
        self._frames = self._decode_from_keyframe()

    def _advance(self, index: int) -> bool:
        assert self._frames is not None
        try:
            for i, frame in self._frames:
                self._last = (i, frame)
                if i >= index:
                    return i == index
        except self._av_error as exc:
            self._frames = None
            raise VideoError(f"frame {index} of {self._path} cannot be decoded: {exc}") from None
        self._frames = None
        return False

    def _decode_from_keyframe(self) -> Iterator[tuple[int, Any]]:
        started = False
        for packet in self._container.demux(self._stream):
            started = started or bool(packet.is_keyframe)
            if started and not packet.is_corrupt:
                for frame in packet.decode():
                    pts = frame.pts if frame.pts is not None else frame.dts
                    if pts in self._index_of:
                        yield self._index_of[pts], frame
