"""Reading a clip for a learned tracker: every frame resized to the network's size as it is read
(so the clip costs the model size, not the video's), with progress and cancel.

A clip that fits ``EAGER_BYTES`` at the model size is read whole, once (:func:`read_clip`: an
array). A longer one (a long recording: an hour at 384 × 512 is 64 GB) is a
:class:`ResizedClip`: the same frames, read and resized when the tracker asks for them, at most
``KEEP_FRAMES`` held, so that tracking it takes memory that does not grow with it. The
predictors read a clip in windows and chunks (pose3d.tracking.cotracker3.predictor,
pose3d.tracking.tapir.predictor), which both kinds of clip serve alike, value for value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, TypeAlias

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from pose3d.tracking.base import Frames, TrackProgress, check_cancel

# (frame height, frame width) -> (h, w) the clip is read at
SizeRule = Callable[[int, int], tuple[int, int]]

EAGER_BYTES: Final = 1 << 30  # a clip up to this size at the model's resolution is read whole
KEEP_FRAMES: Final = 256  # frames a ResizedClip holds (the predictors' windows are shorter)


def read_clip(
    frames: Frames,
    size_for: SizeRule,
    *,
    align_corners: bool,
    progress: TrackProgress | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
) -> tuple[NDArray[np.uint8], tuple[int, int]]:
    """The clip as (T, h, w, 3) uint8 at ``size_for(H, W)`` (bilinear, the network's
    ``align_corners``), and the frames' (H, W). ``progress(i, total)`` per frame read (total
    defaults to T); cancel is checked per frame."""
    first = frames[0]
    height, width = first.shape[:2]
    size = size_for(height, width)
    clip = _read_whole(frames, first, size, align_corners, progress, cancel, total)
    return clip, (height, width)


def clip_for(
    frames: Frames,
    size_for: SizeRule,
    *,
    align_corners: bool,
    progress: TrackProgress | None = None,
    cancel: threading.Event | None = None,
    total: int | None = None,
    eager_bytes: int | None = None,
    keep: int | None = None,
    progress_as_read: bool = True,
) -> tuple[Clip, tuple[int, int]]:
    """:func:`read_clip` when the clip fits ``eager_bytes`` (default ``EAGER_BYTES``) at its
    model size, else a :class:`ResizedClip` of it holding ``keep`` frames (default
    ``KEEP_FRAMES``; ``progress`` then counts the frames as the tracker first reads them, or,
    ``progress_as_read`` False, is left to the tracker's own); and the frames' (H, W)."""
    first = frames[0]
    height, width = first.shape[:2]
    h, w = size_for(height, width)
    clip: Clip
    if len(frames) * h * w * 3 <= (EAGER_BYTES if eager_bytes is None else eager_bytes):
        clip = _read_whole(frames, first, (h, w), align_corners, progress, cancel, total)
    else:
        held = KEEP_FRAMES if keep is None else keep
        told = progress if progress_as_read else None
        clip = ResizedClip(
            frames, (h, w), align_corners, keep=held, progress=told, cancel=cancel, total=total
        )
    return clip, (height, width)


def _read_whole(
    frames: Frames,
    first: NDArray[np.uint8],
    size: tuple[int, int],
    align_corners: bool,
    progress: TrackProgress | None,
    cancel: threading.Event | None,
    total: int | None,
) -> NDArray[np.uint8]:
    """Every frame at ``size`` (``first``: frame 0, read already), as :func:`read_clip` says."""
    n_frames = len(frames)
    resize = size != first.shape[:2]
    clip = np.empty((n_frames, *size, 3), np.uint8)
    for i in range(n_frames):
        check_cancel(cancel)
        frame = first if i == 0 else frames[i]
        clip[i] = resize_frame(frame, size, align_corners) if resize else frame
        if progress is not None:
            progress(i, total or n_frames)
    return clip


class ResizedClip:
    """The frames of a clip at ``size`` (h, w), read and resized when indexed, as the (T, h, w, 3)
    uint8 array :func:`read_clip` would return (``clip[i]``, ``clip[a:b]``, ``clip[indices]``
    give the same values); the last ``keep`` frames read are held. ``progress(n, total)``
    counts the frames read for the first time; ``cancel`` is checked per frame read.
    ``cache_key`` is unique to this clip: feature caches keyed on it are never reused by
    another clip."""

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(
        self,
        frames: Frames,
        size: tuple[int, int],
        align_corners: bool,
        *,
        keep: int = KEEP_FRAMES,
        progress: TrackProgress | None = None,
        cancel: threading.Event | None = None,
        total: int | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError(f"a ResizedClip holds at least 1 frame, got keep={keep}")
        self.frames = frames
        self.shape = (len(frames), size[0], size[1], 3)
        self.align_corners = align_corners
        self.keep = keep
        self.cache_key = ("resized clip", id(self), object())
        self._held: OrderedDict[int, NDArray[np.uint8]] = OrderedDict()
        self._seen = np.zeros(len(frames), bool)
        self._read = 0  # frames read at least once
        self._progress, self._cancel, self._total = progress, cancel, total or len(frames)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> NDArray[np.uint8]:
        if isinstance(index, (int, np.integer)):
            return self._frame(range(self.shape[0])[index])
        rows = np.arange(self.shape[0])[index]
        if np.ndim(rows) == 0:
            return self._frame(int(rows))
        out = np.empty((len(rows), *self.shape[1:]), np.uint8)
        for j, t in enumerate(np.asarray(rows).tolist()):
            out[j] = self._frame(t)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        raise TypeError(
            f"a ResizedClip of {self.shape[0]} frames is not read whole (that is its point); "
            "index it (clip[a:b]) instead"
        )

    @property
    def held(self) -> int:
        """How many frames are held now."""
        return len(self._held)

    def _frame(self, t: int) -> NDArray[np.uint8]:
        frame = self._held.get(t)
        if frame is not None:
            self._held.move_to_end(t)
            return frame
        check_cancel(self._cancel)
        image = self.frames[t]
        size = self.shape[1:3]
        frame = image if image.shape[:2] == size else resize_frame(image, size, self.align_corners)
        self._held[t] = frame
        if len(self._held) > self.keep:
            self._held.popitem(last=False)
        if not self._seen[t]:
            self._seen[t] = True
            self._read += 1
            if self._progress is not None:
                self._progress(self._read - 1, self._total)
        return frame


Clip: TypeAlias = NDArray[np.uint8] | ResizedClip  # what the predictors read


def resize_frame(
    frame: NDArray[np.uint8], size: tuple[int, int], align_corners: bool
) -> NDArray[np.uint8]:
    """(H, W, 3) uint8 -> (h, w, 3) uint8, bilinear."""
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
    resized = F.interpolate(image, size, mode="bilinear", align_corners=align_corners)
    return resized[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
