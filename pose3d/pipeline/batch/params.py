"""The parameters of each batch step: their names, types and defaults, and the check that turns
a manifest's table (or the CLI's options) into them with one clear message per wrong value.

The names are those of the single-session commands' options, with ``_`` for ``-``
(``pose3d triangulate --ransac-threshold`` is ``ransac_threshold``), so that a manifest reads
like the commands a person would type.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pose3d.errors import Pose3dError
from pose3d.tracking.registry import TRACKERS

STEP_ORDER = ("calibrate", "track", "triangulate", "export", "view")


@dataclass(frozen=True)
class Param:
    """One parameter: its default and a check that returns the value or says what is wrong."""

    default: Any
    check: Callable[[Any], Any]


def _whole(low: int) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"a whole number >= {low}")
        return value

    return check


def _number(low: float, *, or_equal: bool = False) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if (
            not number
            or not math.isfinite(value)
            or not (value >= low if or_equal else value > low)
        ):
            raise ValueError(f"a number {'>=' if or_equal else '>'} {low:g}")
        return float(value)

    return check


def _choice(*choices: str | None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in choices:
            raise ValueError("one of " + ", ".join(str(c) for c in choices))
        return value

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _text(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError("a name")
    return value


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("a list of names")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("a list of names")
    return tuple(v.strip() for v in value)


def _formats(value: Any) -> tuple[str, ...]:
    from pose3d.io.formats import export_formats

    names = _names(value)
    known = export_formats()
    if not names or any(n not in known for n in names):
        raise ValueError("a list of export formats: " + ", ".join(known))
    return names


PARAMS: dict[str, dict[str, Param]] = {
    "calibrate": {
        "step": Param(None, _whole(1)),  # look at every N-th frame (default: ~300 frames)
        "reference": Param(None, _text),  # camera that defines the world frame (default: first)
        "fisheye": Param(False, _flag),  # every camera is a fisheye
        "refit_intrinsics": Param(False, _flag),  # refit the intrinsics of intrinsics.toml
    },
    "track": {
        "tracker": Param(None, _choice(None, *TRACKERS)),  # default: the first installed
        "tapir_side": Param(None, _whole(256)),  # tapir: model size's long side (default 256)
        "second_opinion": Param(None, _choice(None, *TRACKERS)),  # another tracker's opinion
        "views": Param(None, _names),  # cameras to track (default: all)
    },
    "triangulate": {
        "method": Param("dlt", _choice("dlt", "ransac", "optim")),
        "views": Param(None, _names),  # cameras to use (default: all)
        "ransac_threshold": Param(10.0, _number(0)),  # px
        "scale_smooth": Param(2.0, _number(0, or_equal=True)),  # optim: smoothness weight
        "scale_length": Param(2.0, _number(0, or_equal=True)),  # optim: bone-length weight
        "loss_scale": Param(5.0, _number(0)),  # optim: robust loss, px
        "interpolate": Param(False, _flag),  # fill the gaps of the 3D tracks
        "unit": Param(None, _text),  # unit the calibration must be in, e.g. mm
    },
    "export": {
        "formats": Param(("movement",), _formats),
        "individual": Param(None, _text),  # anipose, anipose-csv, dlc-h5: this individual only
        "scorer": Param(None, _text),  # dlc: the scorer of the project's config.yaml
        "start_time": Param(None, _text),  # nwb: when the recording started (ISO 8601)
    },
    "view": {
        "frame": Param(None, _whole(0)),  # the poses' frame to show (default: the middle one)
        "width": Param(1600, _whole(64)),  # the sheet's width in px
        "whole": Param(False, _flag),  # whole images, not the part around the subject
    },
}


def step_params(step: str, *tables: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``step``'s parameters: the defaults, overridden by each of ``tables`` in turn (a
    manifest's defaults, then a session's own table); an unknown name or a wrong value is a
    Pose3dError naming ``where``, the step and the parameter."""
    spec = PARAMS[step]
    values = {name: param.default for name, param in spec.items()}
    for table in tables:
        for name, value in table.items():
            if name not in spec:
                raise Pose3dError(
                    f"{where}: {step} has no parameter {name!r}; it takes " + ", ".join(spec)
                )
            try:
                values[name] = spec[name].check(value)
            except ValueError as error:
                raise Pose3dError(
                    f"{where}: {step}.{name} must be {error}, got {reprlib.repr(value)}"
                ) from None
    return values


def check_steps(steps: Any, where: str) -> tuple[str, ...]:
    """The steps named, in the order they run; unknown names are refused."""
    names = _names(steps) if not isinstance(steps, tuple) else steps
    unknown = [n for n in names or () if n not in STEP_ORDER]
    if not names or unknown:
        raise Pose3dError(
            f"{where}: steps must be some of {', '.join(STEP_ORDER)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return tuple(step for step in STEP_ORDER if step in names)
