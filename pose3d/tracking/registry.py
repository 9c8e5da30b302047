"""Tracker selection by name: ``classical`` or ``cotracker3`` (registered, not if/elif'd).

``make_tracker(None)`` picks CoTracker3 when its weights are installed, else the classical
tracker, with one notice for the user (the library never prints; the caller shows it). Asking
for ``cotracker3`` by name without its weights is refused with what to do: the user asked for
that network, and tracks from another one would pass for its.
torch is imported only when a CoTracker3 tracker is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pose3d.errors import Pose3dError
from pose3d.tracking.base import PointTracker
from pose3d.tracking.weights import find_weights, weights_dir

NO_WEIGHTS_NOTICE = (
    "no CoTracker3 weights installed in {folder}: using the classical tracker (run `pose3d "
    "weights download`, or `pose3d weights import FILE`, to use CoTracker3)"
)


@dataclass(frozen=True)
class TrackerChoice:
    """The tracker to use and, when it is not the one asked for, why (one line)."""

    tracker: PointTracker
    notice: str | None = None


def _classical(weights: Path | None, device: str | None) -> PointTracker:
    from pose3d.tracking.classical import ClassicalTracker

    return ClassicalTracker()


def _cotracker3(weights: Path | None, device: str | None) -> PointTracker:
    from pose3d.tracking.cotracker3_tracker import CoTracker3Tracker

    if weights is None:
        raise Pose3dError("the cotracker3 tracker needs a weights file (pose3d weights download)")
    variant = "online" if weights.stem.endswith("online") else "offline"
    return CoTracker3Tracker.from_weights(weights, variant, device)


TRACKERS: dict[str, Callable[[Path | None, str | None], PointTracker]] = {
    "classical": _classical,
    "cotracker3": _cotracker3,
}


def make_tracker(
    name: str | None = None,
    *,
    variant: str = "offline",
    device: str | None = None,
    folder: Path | None = None,
) -> TrackerChoice:
    """The tracker called ``name`` (None: the best installed); see the module docstring."""
    if name is not None and name not in TRACKERS:
        raise Pose3dError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    if name == "classical":
        return TrackerChoice(TRACKERS["classical"](None, device))
    weights = find_weights(variant, folder)
    if weights is None and name == "cotracker3":
        raise Pose3dError(
            f"the cotracker3 tracker needs its weights ({variant}), and none are installed in "
            f"{folder or weights_dir()}: run `pose3d weights download`, or `pose3d weights "
            "import FILE`, or track with --tracker classical"
        )
    if weights is None:
        notice = NO_WEIGHTS_NOTICE.format(folder=folder or weights_dir())
        return TrackerChoice(TRACKERS["classical"](None, device), notice)
    return TrackerChoice(TRACKERS["cotracker3"](weights, device))
