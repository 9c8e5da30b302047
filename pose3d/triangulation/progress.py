"""The progress callback the triangulation functions accept: ``progress(step, done, total)``.

A plain callable type, so that both a :class:`pose3d.progress.ProgressCallback` and the
callable that :func:`pose3d.progress.progress_bar` yields fit it.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
