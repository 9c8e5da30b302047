"""Decoded frames of every camera at one session instant, cached and prefetched.

``FrameCache.get(view, frame)`` returns the RGB frame (H, W, 3) uint8 that camera ``view`` shows
at session frame ``frame`` (camera frame = session frame - the camera's offset, see
pose3d.io.video_reading.session_to_camera_frame), or None when that camera did not film that
instant.
``prefetch(frame)`` decodes the neighbouring frames of every camera in the background, so that
stepping through the video finds them decoded.

Each camera has one decoding thread that owns its VideoReader (a reader is not thread-safe), so
the cameras decode in parallel and a camera's reads stay sequential, which is what its decoder
is fastest at. Decoded frames are kept in a least-recently-used cache bounded in bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import VideoError
from pose3d.io.video_reading import VideoReader, session_to_camera_frame
from pose3d.session import Session

Frame = NDArray[np.uint8]  # (H, W, 3) RGB
Key = tuple[str, int]  # (view, session frame)
Opener = Callable[[Path], VideoReader]

DEFAULT_MAX_BYTES = 512 * 2**20
DEFAULT_AHEAD, DEFAULT_BEHIND = 4, 2


class FrameCache:
    """Frames of a session's cameras by session frame; bounded LRU with background prefetch."""

    def __init__(
        self,
        session: Session,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ahead: int = DEFAULT_AHEAD,
        behind: int = DEFAULT_BEHIND,
        opener: Opener = VideoReader,
    ) -> None:
        self.views = session.camera_names
        self.offsets = {c.name: c.offset for c in session.cameras}
        self.max_bytes, self.ahead, self.behind = int(max_bytes), int(ahead), int(behind)
        self._readers = {name: opener(session.video_path(name)) for name in self.views}
        self.n_camera_frames = {name: r.n_frames for name, r in self._readers.items()}
        self.sizes = {name: r.size for name, r in self._readers.items()}  # (width, height)
        self._pools = {
            name: ThreadPoolExecutor(1, thread_name_prefix=f"pose3d-frames-{name}")
            for name in self.views
        }
        self._lock = threading.Lock()
        self._cache: OrderedDict[Key, Frame] = OrderedDict()
        self._pending: dict[Key, Future[Frame]] = {}
        self._bytes = 0
        self.decoded = 0  # frames decoded so far (for tests and benchmarks)

    @property
    def n_frames(self) -> int:
        """Session frames 0 .. n_frames - 1 cover every camera's last frame."""
        return max(max(self.n_camera_frames[v] + self.offsets[v] for v in self.views), 1)

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def camera_frame(self, view: str, frame: int) -> int | None:
        """The camera frame of ``view`` at session frame ``frame``; None when it did not film."""
        index = session_to_camera_frame(frame, self.offsets[view])
        return index if 0 <= index < self.n_camera_frames[view] else None

    def get(self, view: str, frame: int) -> Frame | None:
        """The RGB frame of ``view`` at session ``frame`` (decoded now unless cached)."""
        future = self._request((view, frame))
        return None if future is None else future.result()

    def cached(self, view: str, frame: int) -> tuple[bool, Frame | None]:
        """Without decoding: (True, the frame or None when the camera did not film it) when
        the answer is known now, (False, None) when the frame still has to be decoded."""
        if self.camera_frame(view, frame) is None:
            return True, None
        with self._lock:
            found = self._cache.get((view, frame))
            if found is not None:
                self._cache.move_to_end((view, frame))
        return found is not None, found

    def get_all(self, frame: int) -> dict[str, Frame | None]:
        """Every camera's frame at session ``frame``, decoded in parallel (the neighbours are
        left to ``prefetch``, which the caller queues once the frame is shown)."""
        futures = {view: self._request((view, frame)) for view in self.views}
        return {view: None if f is None else f.result() for view, f in futures.items()}

    def prefetch(
        self, frame: int, views: Iterable[str] | None = None, ahead: int | None = None
    ) -> None:
        """Decode, in the background, the frames around ``frame`` (ahead first; ``ahead``
        frames, default the cache's, e.g. more while playing)."""
        order = [frame + d for d in range(1, (self.ahead if ahead is None else ahead) + 1)]
        order += [frame - d for d in range(1, self.behind + 1)]
        for view in self.views if views is None else views:
            for f in order:
                self._request((view, f))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        for reader in self._readers.values():
            reader.close()
        with self._lock:
            self._cache.clear()
            self._bytes = 0

    def __enter__(self) -> FrameCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------

    def _request(self, key: Key) -> Future[Frame] | None:
        view, frame = key
        if view not in self._readers:
            raise VideoError(f"unknown camera {view!r}; this session has {', '.join(self.views)}")
        index = self.camera_frame(view, frame)
        if index is None:
            return None
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                done: Future[Frame] = Future()
                done.set_result(cached)
                return done
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pools[view].submit(self._decode, key, index)
                self._pending[key] = pending
            return pending

    def _decode(self, key: Key, index: int) -> Frame:
        try:
            frame = self._readers[key[0]].read(index)
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            raise
        with self._lock:  # cached before it stops being pending: no key is decoded twice
            self._pending.pop(key, None)
            self.decoded += 1
            if key not in self._cache:
                self._cache[key] = frame
                self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._bytes -= old.nbytes
        return frame
