"""Garbage collection while the user is idle, not in the middle of a frame step.

CPython's full collection (generation 2) walks every object the collector tracks. The UI holds
about 200 000 of them (rendered strips and segments, styles, cached pictures), so one walk takes
~100 ms, and left to the interpreter it starts whenever enough objects have survived, which is
in the middle of a frame step: it was the 90th percentile of ``benchmarks/tui.py``.

``IdleCollector`` collects once and freezes what survives when the app starts (``gc.freeze``:
later collections skip those objects), then, once the user has been idle for ``idle_s`` after
some input, unfreezes, collects and freezes again: the garbage of the steps in between is
reclaimed while nobody waits for a frame, and the collections during steps walk only what the
steps themselves made. The freeze is process-wide; ``stop`` (the app's unmount) undoes it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


class IdleCollector:
    """Full collections paced to the user's idle moments (see the module docstring).

    The app calls ``start`` once it is up, ``touch`` on every key or mouse event, ``tick`` from
    a timer and ``stop`` when it closes. ``clock`` is injectable for tests.
    """

    def __init__(self, idle_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self.collections = 0  # full collections made at idle moments
        self._last_input = clock()
        self._pending = False  # input since the last collection
        self._running = False

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        self._running = True
        self._pending = False

    def touch(self) -> None:
        """Note user input: a collection is due once the user pauses."""
        self._last_input = self.clock()
        self._pending = True

    def tick(self) -> bool:
        """Collect if there was input and the user has been idle since; True if it collected."""
        if not (self._running and self._pending):
            return False
        if self.clock() - self._last_input < self.idle_s:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._pending = False
        self.collections += 1
        return True

    def stop(self) -> None:
        """Give the frozen objects back to the collector."""
        if self._running:
            gc.unfreeze()
            self._running = False
