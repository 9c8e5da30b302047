"""Tracker selection by name: ``classical``, ``cotracker3`` or ``tapir`` (registered, not
if/elif'd), and which one ``pose3d track`` uses when none is named.

The default is the first tracker of an order whose weights are installed (classical needs
none): cotracker3, tapir, classical — the most accurate first (TAP-Vid DAVIS, average Jaccard:
CoTracker3 63.8, BootsTAPIR 62.4). ``$POSE3D_TRACKER`` (a tracker name), else the choice stored
by ``pose3d weights default TRACKER`` (a file in the weights folder), moves one tracker to the
front. ``make_tracker(None)`` follows the order, with one notice for the user when it could not
use the first (the library never prints; the caller shows it). Asking for a learned tracker by
name without its weights is refused with what to do: the user asked for that network, and
tracks from another one would pass for its. torch is imported only when a learned tracker is
built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pose3d.errors import Pose3dError
from pose3d.tracking.weights import WEIGHTS, find_weights, tracker_weights, weights_dir
from pose3d.tracking.weights_files import weights_root

if TYPE_CHECKING:
    from pose3d.tracking.base import PointTracker

ENV_TRACKER = "POSE3D_TRACKER"
SETTING = "default_tracker.txt"  # in weights_root(): the name `pose3d weights default` stored
DEFAULT_ORDER = ("cotracker3", "tapir", "classical")  # most accurate first


class MissingWeights(Pose3dError):
    """A learned tracker was asked for by name and its weights are not installed."""


@dataclass(frozen=True)
class TrackerChoice:
    """The tracker to use and, when it is not the one asked for, why (one line)."""

    tracker: PointTracker
    notice: str | None = None


@dataclass(frozen=True)
class Preference:
    """The order in which trackers are tried when none is named, and who set it."""

    order: tuple[str, ...]
    source: str  # "the default order", "$POSE3D_TRACKER=tapir", "`pose3d weights default ...`"
    chosen: bool  # the user put order[0] first


@dataclass(frozen=True)
class Selection:
    """The tracker ``make_tracker`` builds, without building it (no torch)."""

    name: str
    weights: Path | None  # the file it loads; None for the classical tracker
    why: str  # one line: why this tracker
    notice: str | None = None  # for the user, when it is not the one they asked for first


@dataclass(frozen=True)
class BuildOptions:
    """How a tracker is built, beyond its weights: each factory reads what concerns it."""

    device: str | None = None  # torch device of a learned tracker (None: the CPU)
    tapir_side: int | None = None  # BootsTAPIR's model size, long side (None: its default, 256)


def _classical(weights: Path | None, options: BuildOptions) -> PointTracker:
    from pose3d.tracking.classical import ClassicalTracker

    return ClassicalTracker()


def _cotracker3(weights: Path | None, options: BuildOptions) -> PointTracker:
    from pose3d.tracking.cotracker3_tracker import CoTracker3Tracker

    if weights is None:
        raise Pose3dError("the cotracker3 tracker needs a weights file (pose3d weights download)")
    variant = "online" if weights.stem.endswith("online") else "offline"
    return CoTracker3Tracker.from_weights(weights, variant, options.device)


def _tapir(weights: Path | None, options: BuildOptions) -> PointTracker:
    from pose3d.tracking.tapir_tracker import MAX_SIDE, TapirTracker
    from pose3d.tracking.weights_tapir import GET, variant_of

    if weights is None:
        raise Pose3dError(f"the tapir tracker needs a weights file: {GET}")
    side = options.tapir_side or MAX_SIDE
    return TapirTracker.from_weights(weights, variant_of(weights.name), options.device, side)


TRACKERS: dict[str, Callable[[Path | None, BuildOptions], PointTracker]] = {
    "classical": _classical,
    "cotracker3": _cotracker3,
    "tapir": _tapir,
}
LEARNED = tuple(name for name in TRACKERS if name in WEIGHTS)  # the trackers that need weights
CHOICE_HELP = (
    f"default: the first installed of {', '.join(DEFAULT_ORDER)} (${ENV_TRACKER} or `pose3d "
    "weights default TRACKER` puts one first; `pose3d weights list` says which)"
)


def preference() -> Preference:
    """The order trackers are tried in: ``$POSE3D_TRACKER``, else the stored default, first."""
    named = os.environ.get(ENV_TRACKER, "").strip()
    if named:
        first, source = _known(named, f"${ENV_TRACKER}={named}"), f"${ENV_TRACKER}={named}"
    else:
        setting = weights_root() / SETTING
        stored = _read_setting(setting)
        if stored is None:
            return Preference(DEFAULT_ORDER, "the default order", chosen=False)
        source = f"`pose3d weights default {stored}`, stored in {setting}"
        first = _known(stored, f"{setting} (written by `pose3d weights default`)")
    order = (first, *(name for name in DEFAULT_ORDER if name != first))
    return Preference(order, source, chosen=True)


def set_default(name: str | None) -> Path:
    """Store ``name`` as the tracker to try first (None: back to the default order); returns
    the setting's file."""
    from pose3d.io.atomic import atomic_write_text
    from pose3d.tracking.weights_files import make_folder

    setting = weights_root() / SETTING
    if name is None:
        setting.unlink(missing_ok=True)
        return setting
    _known(name)
    make_folder(setting.parent)
    atomic_write_text(setting, name + "\n")
    return setting


def select(
    name: str | None = None, *, variant: str = "offline", folder: Path | None = None
) -> Selection:
    """The tracker ``make_tracker(name)`` builds and its weights file (see the module
    docstring); ``folder`` is where every learned tracker's weights are looked for (default:
    each one's weights folder). Raises MissingWeights for a learned tracker named without
    its weights."""
    if name is not None:
        _known(name)
        weights = _weights(name, variant, folder)
        if name in LEARNED and weights is None:
            facts = tracker_weights(name)
            raise MissingWeights(
                f"the {name} tracker needs its weights ({variant}), and none are installed in "
                f"{_folder(name, folder)}: {facts.get}, or track with --tracker classical"
            )
        return Selection(name, weights, "asked for by name")
    wanted = preference()
    missing = []
    for candidate in wanted.order:
        weights = _weights(candidate, variant, folder)
        if candidate in LEARNED and weights is None:
            missing.append(candidate)
            continue
        notice = _notice(candidate, missing, wanted, variant, folder)
        return Selection(candidate, weights, _why(wanted, missing, variant), notice)
    raise Pose3dError(f"no tracker of {wanted.order} can be used")  # classical is always last


def make_tracker(
    name: str | None = None,
    *,
    variant: str = "offline",
    device: str | None = None,
    folder: Path | None = None,
    tapir_side: int | None = None,
) -> TrackerChoice:
    """The tracker called ``name`` (None: the first installed of the preference order), built;
    see the module docstring. ``tapir_side``: BootsTAPIR's model size (long side, pixels;
    default 256, its training size), ignored by the other trackers."""
    chosen = select(name, variant=variant, folder=folder)
    options = BuildOptions(device, tapir_side)
    return TrackerChoice(TRACKERS[chosen.name](chosen.weights, options), chosen.notice)


def make_trackers(
    name: str | None, second: str | None = None, *, tapir_side: int | None = None
) -> tuple[TrackerChoice, PointTracker | None]:
    """The tracker called ``name`` (:func:`make_tracker`) and, for a second opinion, the one
    called ``second`` (None: none). Both are settled (which tracker, its weights) before either
    network is built, so a refusal never follows loading the first one's weights; raises
    Pose3dError when ``second`` is the tracker that tracks."""
    if second is not None and select(second).name == select(name).name:
        raise Pose3dError(
            f"the second opinion ({second}) is the tracker that tracks: a second opinion comes "
            f"from another one ({', '.join(TRACKERS)})"
        )
    choice = make_tracker(name, tapir_side=tapir_side)
    other = None if second is None else make_tracker(second, tapir_side=tapir_side).tracker
    return choice, other


@dataclass(frozen=True)
class TrackerSpec:
    """A tracker as a user asked for it (``--tracker``, ``--tapir-side``), built when needed."""

    name: str | None = None  # None: the first installed of the preference order
    tapir_side: int | None = None  # BootsTAPIR's model size, long side (None: 256)

    def make(self, second: str | None = None) -> tuple[TrackerChoice, PointTracker | None]:
        """This tracker and, given ``second``, another for a second opinion (make_trackers)."""
        return make_trackers(self.name, second, tapir_side=self.tapir_side)


def _why(wanted: Preference, missing: list[str], variant: str) -> str:
    order = ", ".join(wanted.order)
    if not missing:
        return f"set by {wanted.source}" if wanted.chosen else f"first of the default order {order}"
    return (
        f"first installed of the order {order} ({wanted.source}); no {variant} weights for "
        f"{', '.join(missing)}"
    )


def _notice(
    chosen: str, missing: list[str], wanted: Preference, variant: str, folder: Path | None
) -> str | None:
    """One line for the user when the tracker used is not the first they would have had."""
    if not missing or (not wanted.chosen and chosen in LEARNED):
        return None  # the first of the order, or a learned one by the default order
    how = "; ".join(f"{tracker_weights(n).title}: {tracker_weights(n).get}" for n in missing)
    where = ", ".join(sorted({str(_folder(n, folder)) for n in missing}))
    if chosen == "classical":
        none = " and no ".join(f"{tracker_weights(n).title} weights" for n in missing)
        return f"no {none} ({variant}) installed in {where}: using the classical tracker ({how})"
    return (
        f"{wanted.source} asks for {missing[0]}, whose {variant} weights are not installed in "
        f"{where}: using {chosen} ({how})"
    )


def _weights(name: str, variant: str, folder: Path | None) -> Path | None:
    return find_weights(variant, folder, tracker=name) if name in LEARNED else None


def _folder(name: str, folder: Path | None) -> Path:
    return folder or weights_dir(name)


def _known(name: str, where: str | None = None) -> str:
    if name not in TRACKERS:
        said = f" ({where})" if where else ""
        raise Pose3dError(f"unknown tracker {name!r}{said}; choose one of {', '.join(TRACKERS)}")
    return name


def _read_setting(path: Path) -> str | None:
    """The tracker name stored in ``path``; None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise Pose3dError(
            f"cannot read the default-tracker setting {path} ({error.strerror}); remove it, or "
            "run `pose3d weights default auto`"
        ) from None
    return text.strip()[:100] or None


def licence_line(name: str) -> str:
    """One line on the licence of the weights tracker ``name`` runs with (its licence's first
    sentence; the classical tracker has none)."""
    if name not in WEIGHTS:
        return "no weights needed"
    first, _, _ = tracker_weights(name).licence.partition(". ")
    return first.rstrip(".") + "."
