"""Garbage collection while the user is idle, not in the middle of a frame step.

CPython's full collection (generation 2) walks every object the collector tracks. The UI holds
about 200 000 of them (rendered strips and segments, styles, cached pictures), so one walk takes
~100 ms, and left to the interpreter it starts whenever enough objects have survived, which is
in the middle of a frame step: it was the 90th percentile of ``benchmarks/tui.py``.

``IdleCollector`` collects once and freezes what survives when the app starts (``gc.freeze``:
later collections skip those objects). Once the user has been idle for ``idle_s`` after some
input, it collects what is not frozen (the garbage of the steps since: ~5 ms) and freezes the
survivors; once the user has been idle for ``full_idle_s``, or the frozen objects have grown to
``growth`` times their number after the last full collection, it unfreezes and collects
everything (~100 ms for 400,000 objects), so that cycles among frozen objects are reclaimed too.
Most objects are freed by reference counting anyway; the collector is only for cycles. The
freeze is process-wide; ``stop`` (the app's unmount) undoes it.
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

    def __init__(
        self,
        idle_s: float = 1.0,
        full_idle_s: float = 5.0,
        growth: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.full_idle_s = full_idle_s
        self.growth = growth
        self.clock = clock
        self.collections = 0  # collections of the unfrozen objects made at idle moments
        self.full_collections = 0  # collections of everything made at idle moments
        self._last_input = clock()
        self._pending = False  # input since the last collection
        self._full_due = False  # a young collection since the last full one
        self._frozen_after_full = 0
        self._running = False

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        self._frozen_after_full = gc.get_freeze_count()
        self._running = True
        self._pending = self._full_due = False

    def touch(self) -> None:
        """Note user input: a collection is due once the user pauses."""
        self._last_input = self.clock()
        self._pending = True

    def tick(self) -> bool:
        """Collect if the user has been idle long enough since some input (the module
        docstring says what); True if it collected."""
        if not self._running:
            return False
        idle = self.clock() - self._last_input
        grown = gc.get_freeze_count() > self.growth * max(self._frozen_after_full, 1)
        if (self._full_due or self._pending) and idle >= self.idle_s and grown:
            return self._collect_all()
        if self._full_due and idle >= self.full_idle_s:
            return self._collect_all()
        if self._pending and idle >= self.idle_s:
            gc.collect()
            gc.freeze()
            self._pending, self._full_due = False, True
            self.collections += 1
            return True
        return False

    def _collect_all(self) -> bool:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen_after_full = gc.get_freeze_count()
        self._pending = self._full_due = False
        self.full_collections += 1
        return True

    def stop(self) -> None:
        """Give the frozen objects back to the collector."""
        if self._running:
            gc.unfreeze()
            self._running = False
