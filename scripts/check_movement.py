#!/usr/bin/env python3
"""Check that netCDF files open as ``movement`` (>= 0.17) poses datasets, unconverted.

Run this with the Python of a separate venv that has ``movement`` installed
(see scripts/README.md). It does not import pose3d.

For each file it:

1. opens it the way movement documents for its own netCDF files
   (``xarray.open_dataset``; movement 0.17 has no netCDF loader in
   ``movement.io.load_dataset``; its napari widget also calls ``open_dataset``),
2. checks the dataset attributes movement writes (``ds_type``, ``time_unit``,
   ``fps``, ``source_software``),
3. runs movement's validator ``ValidPosesInputs.validate`` (or
   ``ValidBboxesInputs.validate``),
4. checks it matches what movement's own ``ValidPosesInputs(...).to_dataset()``
   builds: dim order, dtypes, ``space``/``time`` coordinates, string names.
   A ``view`` dim (movement's ``load_multiview_dataset`` adds one) is checked
   one view at a time,
5. computes with movement: ``kinematics.compute_velocity``/``compute_speed``,
   ``filtering.filter_by_confidence`` and ``save_poses.to_dlc_style_df``.

It changes nothing before checking: no renaming, transposing or casting.
Exit status: 0 when every file passes, 1 when a file fails, 2 on usage or
environment problems. ``--strict`` makes warnings count as failures.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MIN_MOVEMENT = (0, 17)

try:
    import movement
    import numpy as np
    import xarray as xr
    from movement.filtering import filter_by_confidence
    from movement.io import load as mv_load
    from movement.io import save_poses
    from movement.kinematics import compute_speed, compute_velocity
    from movement.utils.logging import logger as mv_logger
    from movement.validators.datasets import ValidBboxesInputs, ValidPosesInputs
except ImportError as exc:  # pragma: no cover - environment problem
    print(
        f"check_movement: cannot import movement ({exc}).\n"
        "Run me with a venv that has movement: python3.12 -m venv VENV && "
        'VENV/bin/pip install "movement>=0.17"',
        file=sys.stderr,
    )
    sys.exit(2)

LEGACY_DIMS = {"keypoints": "keypoint", "individuals": "individual"}
VIEW = "view"


class Report:
    """Errors, warnings and info lines for one file."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.info: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def note(self, msg: str) -> None:
        self.info.append(msg)


def movement_version() -> str:
    try:
        return version("movement")
    except PackageNotFoundError:  # pragma: no cover
        return getattr(movement, "__version__", "unknown")


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def open_file(path: Path, engine: str | None, rep: Report) -> xr.Dataset | None:
    """Open with xarray.open_dataset, as movement documents for netCDF files."""
    try:
        ds = xr.open_dataset(path, engine=engine)
    except Exception as exc:
        rep.error(f"xarray.open_dataset(engine={engine!r}) failed: {type(exc).__name__}: {exc}")
        return None
    rep.note(f"opened with xarray.open_dataset(engine={engine or 'auto'!r})")
    return ds.load()


def check_attrs(ds: xr.Dataset, rep: Report) -> str | None:
    """Check the global attributes movement's to_dataset() writes."""
    attrs = ds.attrs
    ds_type = attrs.get("ds_type")
    if ds_type not in ("poses", "bboxes"):
        rep.error(
            f"attrs['ds_type'] is {ds_type!r}; movement needs 'poses' or 'bboxes' "
            "(its napari loader rejects other values)"
        )
        ds_type = None
    sw = attrs.get("source_software")
    if sw is None:
        rep.warn(
            "attrs['source_software'] is missing (movement sets it on every dataset it builds)"
        )
    elif not isinstance(sw, str):
        rep.error(f"attrs['source_software'] must be a str, got {type(sw).__name__}")
    time_unit = attrs.get("time_unit")
    if time_unit not in ("seconds", "frames"):
        rep.error(f"attrs['time_unit'] is {time_unit!r}; movement writes 'seconds' or 'frames'")
    fps = attrs.get("fps")
    fps_ok = False
    if fps is not None:
        try:
            fps_f = float(fps)
        except (TypeError, ValueError):
            rep.error(f"attrs['fps'] must be a number, got {fps!r}")
        else:
            fps_ok = math.isfinite(fps_f) and fps_f > 0
            if not fps_ok:
                rep.error(
                    f"attrs['fps'] is {fps_f!r}; movement omits 'fps' when it is unknown and "
                    "otherwise stores a positive float (save_poses.to_sleap_analysis_file and "
                    "to_nwb_file compute frames/timestamps from ds.fps)"
                )
    if time_unit == "seconds" and fps is None:
        rep.error("attrs['time_unit'] is 'seconds' but attrs['fps'] is missing")
    if time_unit == "frames" and fps_ok:
        rep.error(
            "attrs['fps'] is set but time_unit is 'frames'; movement stores time in seconds "
            "whenever fps is known (save_poses.to_sleap_analysis_file takes time * fps as frames)"
        )
    return ds_type


def valid_fps(ds: xr.Dataset) -> float | None:
    """attrs['fps'] as a positive float, or None when absent or invalid."""
    fps = ds.attrs.get("fps")
    try:
        f = float(fps) if fps is not None else None
    except (TypeError, ValueError):
        return None
    return f if f is not None and math.isfinite(f) and f > 0 else None


def check_time(ds: xr.Dataset, rep: Report) -> None:
    """Check the time coordinate against movement's convention."""
    if "time" not in ds.coords:
        rep.error("no 'time' coordinate")
        return
    t = ds["time"].values
    unit = ds.attrs.get("time_unit")
    if unit == "seconds" and not np.issubdtype(t.dtype, np.floating):
        rep.error(
            f"time is in seconds but its dtype is {t.dtype} (movement: float64 = frame / fps)"
        )
    if unit == "frames" and not np.issubdtype(t.dtype, np.integer):
        rep.error(f"time is in frames but its dtype is {t.dtype} (movement: int64 frame numbers)")
    if t.size > 1 and not np.all(np.diff(t) > 0):
        rep.error("time coordinate is not strictly increasing")
    fps = valid_fps(ds)
    if not np.issubdtype(t.dtype, np.number):
        rep.error(f"time coordinate dtype is {t.dtype}; movement uses numbers")
        return
    seconds = unit == "seconds" and fps is not None
    expected = np.arange(t.size, dtype=np.float64)
    if unit == "seconds" and fps is not None:
        frames = t * fps
        if not np.allclose(frames, np.rint(frames), atol=1e-6):
            rep.warn("time * fps is not whole frame numbers")
        expected /= fps
    if not np.allclose(t, expected):
        how = "arange(n_frames)" + (" / fps" if seconds else "")
        rep.warn(f"time values differ from movement's {how} (from_numpy and its loaders)")
    if t.size and t[0] != 0:
        rep.warn(f"time starts at {t[0].item()!r}; movement's loaders start at 0")


def _names_are_str(ds: xr.Dataset, dim: str, rep: Report) -> list[str] | None:
    if dim not in ds.coords:
        rep.error(f"no '{dim}' coordinate (movement stores names as coordinates)")
        return None
    vals = ds[dim].values.tolist()
    bad = [v for v in vals if not isinstance(v, str)]
    if bad:
        rep.error(f"'{dim}' coordinate values must be str, got {bad[:3]!r}")
        return None
    return vals


def check_one_poses(ds: xr.Dataset, rep: Report, label: str = "") -> None:
    """Check a 4-D poses dataset matches movement's ValidPosesInputs/to_dataset layout."""
    where = f"[{label}] " if label else ""
    dims = ValidPosesInputs.DIM_NAMES
    pos = ds["position"]
    conf = ds["confidence"]
    if pos.dims != dims:
        rep.error(f"{where}position dims are {pos.dims}; movement's order is {dims}")
        return
    conf_dims_ok = (("time", "keypoint", "individual"), ("time", "individual"))
    if conf.dims not in conf_dims_ok:
        rep.error(f"{where}confidence dims are {conf.dims}; movement expects one of {conf_dims_ok}")
        return
    if not np.issubdtype(pos.dtype, np.floating):
        rep.error(f"{where}position dtype is {pos.dtype}; movement uses float (NaN = missing)")
    if not np.issubdtype(conf.dtype, np.floating):
        rep.error(f"{where}confidence dtype is {conf.dtype}; movement uses float (NaN = unknown)")
    keypoints = _names_are_str(ds, "keypoint", rep)
    individuals = _names_are_str(ds, "individual", rep)
    if keypoints is None or individuals is None:
        return
    fps_arg = valid_fps(ds)
    # movement's own array validators (ndim, space size 2 or 3, confidence shape,
    # unique names), then the dataset movement itself would build from these arrays.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            ref = ValidPosesInputs(
                position_array=pos.values,
                confidence_array=conf.values,
                individual_names=individuals,
                keypoint_names=keypoints,
                fps=fps_arg,
                source_software=ds.attrs.get("source_software"),
            ).to_dataset()
    except (ValueError, TypeError, UserWarning) as exc:
        rep.error(f"{where}movement's ValidPosesInputs rejected the arrays: {exc}")
        return
    space = ds["space"].values.tolist() if "space" in ds.coords else None
    if space != ref["space"].values.tolist():
        rep.error(
            f"{where}space coordinate is {space}; movement uses {ref['space'].values.tolist()}"
        )


def check_poses(ds: xr.Dataset, rep: Report) -> None:
    try:
        ValidPosesInputs.validate(ds)
    except (ValueError, TypeError) as exc:
        rep.error(f"movement ValidPosesInputs.validate failed: {exc}")
        return
    rep.note("movement ValidPosesInputs.validate: OK")
    extra_dims = [d for d in ds["position"].dims if d not in ValidPosesInputs.DIM_NAMES]
    if not extra_dims:
        check_one_poses(ds, rep)
    elif extra_dims == [VIEW]:
        vdims = ds["position"].dims
        rep.note(
            f"position has a '{VIEW}' dim at axis {vdims.index(VIEW)} {vdims}; "
            "movement's load_multiview_dataset puts it at axis 0. Checking each view."
        )
        for i in range(ds.sizes[VIEW]):
            view_name = str(ds[VIEW].values[i]) if VIEW in ds.coords else str(i)
            check_one_poses(ds.isel({VIEW: i}), rep, label=f"{VIEW}={view_name}")
    else:
        rep.error(f"position has extra dims {extra_dims} that movement does not know")
    for name, var in ds.data_vars.items():
        if name not in ValidPosesInputs.VAR_NAMES:
            rep.note(f"extra variable {name}{var.dims} {var.dtype} (movement ignores it)")


def use_with_movement(ds: xr.Dataset, rep: Report) -> None:
    """Compute something with movement to show the dataset is usable as is."""
    pos = ds["position"]
    try:
        vel = compute_velocity(pos)
        speed = compute_speed(pos)
        filt = filter_by_confidence(pos, ds["confidence"], threshold=0.5)
    except Exception as exc:
        rep.error(f"movement.kinematics/filtering failed: {type(exc).__name__}: {exc}")
        return
    if vel.dims != pos.dims or vel.shape != pos.shape:
        rep.error(f"compute_velocity returned dims {vel.dims} shape {vel.shape}")
        return
    finite = np.isfinite(speed.values)
    unit = ds.attrs.get("time_unit", "?")
    per = "s" if unit == "seconds" else "frame"
    if finite.any():
        rep.note(
            f"compute_velocity OK {dict(vel.sizes)}; speed median "
            f"{float(np.nanmedian(speed.values)):.4g} per {per} "
            f"({int(finite.sum())}/{finite.size} finite)"
        )
    else:
        rep.note(f"compute_velocity OK {dict(vel.sizes)}; no finite speed values")
    rep.note(
        f"filter_by_confidence(threshold=0.5) OK: NaN fraction "
        f"{float(np.isnan(pos.values).mean()):.3f} -> {float(np.isnan(filt.values).mean()):.3f}"
    )
    views = [None] if VIEW not in pos.dims else list(range(ds.sizes[VIEW]))
    for v in views:
        sub = ds if v is None else ds.isel({VIEW: v})
        try:
            df = save_poses.to_dlc_style_df(sub)
        except Exception as exc:
            rep.error(
                f"save_poses.to_dlc_style_df failed{'' if v is None else f' (view {v})'}: {exc}"
            )
            return
    rep.note(f"save_poses.to_dlc_style_df OK (last: {df.shape[0]} rows x {df.shape[1]} columns)")


def describe(ds: xr.Dataset) -> list[str]:
    lines = [f"dims: {dict(ds.sizes)}"]
    for name, c in ds.coords.items():
        vals = c.values.tolist()
        shown = vals if len(vals) <= 6 else [*vals[:3], "...", *vals[-2:]]
        lines.append(f"coord {name}{c.dims} {c.dtype}: {shown}")
    for name, v in ds.data_vars.items():
        lines.append(
            f"var   {name}{v.dims} {v.dtype}" + (f" attrs={dict(v.attrs)}" if v.attrs else "")
        )
    lines.append(f"attrs: {dict(ds.attrs)}")
    return lines


def check_file(path: Path, engine: str | None) -> Report:
    rep = Report()
    if not path.is_file():
        rep.error("no such file")
        return rep
    ds = open_file(path, engine, rep)
    if ds is None:
        return rep
    rep.info.extend(describe(ds))
    legacy = [d for d in LEGACY_DIMS if d in ds.dims]
    if legacy:
        rep.error(
            f"legacy plural dims {legacy}; movement >= 0.17 uses "
            f"{[LEGACY_DIMS[d] for d in legacy]} (only rename_legacy_dimensions would fix it)"
        )
        return rep
    ds_type = check_attrs(ds, rep)
    check_time(ds, rep)
    if ds_type == "bboxes":
        try:
            ValidBboxesInputs.validate(ds)
            rep.note("movement ValidBboxesInputs.validate: OK")
        except (ValueError, TypeError) as exc:
            rep.error(f"movement ValidBboxesInputs.validate failed: {exc}")
        return rep
    check_poses(ds, rep)
    if not rep.errors:
        use_with_movement(ds, rep)
    return rep


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Check netCDF files open unconverted as movement (>=0.17) poses datasets."
    )
    p.add_argument("paths", nargs="+", type=Path, help="netCDF files (e.g. poses3d.nc)")
    p.add_argument(
        "--engine",
        default="auto",
        choices=("auto", "h5netcdf", "netcdf4"),
        help="xarray engine to open with (default: auto, as movement's docs do)",
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems and the verdict")
    args = p.parse_args(argv)

    # movement logs its validation errors to stderr via loguru; this script reports them itself.
    mv_logger.disable("movement")
    mv = movement_version()
    if _version_tuple(mv) < MIN_MOVEMENT:
        print(f"check_movement: movement {mv} is older than 0.17", file=sys.stderr)
        return 2
    engines = list(xr.backends.list_engines())
    engine = None if args.engine == "auto" else args.engine
    if engine is not None and engine not in engines:
        print(
            f"check_movement: xarray engine {engine!r} not installed (have {engines})",
            file=sys.stderr,
        )
        return 2
    nc_loaders = sorted(
        sw for sw, sfx in mv_load.get_supported_source_software().items() if ".nc" in sfx
    )
    print(f"movement {mv}, xarray {xr.__version__}, engines {engines}")
    if not args.quiet:
        print(
            f"movement.io.load_dataset loaders for '.nc': {nc_loaders or 'none (open with xarray)'}"
        )

    failed = 0
    for path in args.paths:
        rep = check_file(path, engine)
        bad = bool(rep.errors) or (args.strict and bool(rep.warnings))
        failed += bad
        print(f"\n== {path}")
        if not args.quiet:
            for line in rep.info:
                print(f"  {line}")
        for w in rep.warnings:
            print(f"  WARNING: {w}")
        for e in rep.errors:
            print(f"  ERROR: {e}")
        print(
            f"  => {'FAIL' if bad else 'OK'}: {'not ' if bad else ''}a valid movement {mv} dataset"
        )
    if failed:
        print(f"\n{failed} of {len(args.paths)} file(s) failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
