"""A seeded mutation fuzzer over the files a pose3d session holds (tests/io/test_fuzz.py,
benchmarks/fuzz.py).

Originals (:func:`build_originals`) come from the committed sample session, written through
pose3d's own writers, so the netCDF files carry the checksums the writer puts in: labels.nc,
labels.nc.journal (a few edits beside a labels.nc), poses3d.nc, calibration/detections.nc,
calibration.toml, session.toml; and the foreign files ``pose3d import`` reads, copied from
../shared/data: a DeepLabCut CollectedData .h5 and .csv, a SLEAP .slp and analysis .h5.

A mutant is ``(kind, seed, index)``: :func:`mutate` draws its edit from
``random.Random(f"pose3d-fuzz/{kind}/{seed}/{index}")``, so any one mutant is rebuilt from
those three values alone. Byte edits for every file (flip a bit, overwrite, truncate, delete,
duplicate or insert a block); token edits for text files as well (a number replaced by another
number, a huge one, a negative, a string, a boolean, an empty array, NaN; a string replaced;
a key removed or duplicated; a bracket removed; a line deleted or repeated).

Each mutant is loaded with pose3d's loader for its kind in a child process (:func:`run`
starts one per batch of mutants, and another after a crash or a hang, naming the mutant), and
judged (:data:`VERDICTS`):

- ``refused``: a Pose3dError whose message is non-empty and names the file;
- ``identical``: loaded, and every data variable and coordinate (NaN == NaN), or the parsed
  TOML, equals the original's;
- ``accepted``: loaded with other content where that is legitimate: a text file (TOML, journal,
  CSV) has no checksum, so a change that passes validation is the user's edit (it must also
  survive pose3d's writer and loader again);
- ``attrs changed``: a netCDF file loaded with its data equal and its attributes changed (no
  checksum covers attributes);
- ``unchecked``: a foreign binary file (DeepLabCut .h5, SLEAP) read with changed data: those
  formats carry no checksum (their writers store none), so no reader can tell;
- ``FAILURE``: anything else: another exception (a traceback), a message that does not name the
  file, a hang, a crash, output on stdout / stderr, a pose3d netCDF file whose data or
  coordinate values changed without an error, or a foreign file read with a value no valid
  file holds (inf, beyond ``MAX_LABEL_PX``, a confidence outside [0, 1]).
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import gc
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "session"

REFUSED, IDENTICAL, ACCEPTED, ATTRS, UNCHECKED, FAILURE = (
    "refused",
    "identical",
    "accepted",
    "attrs changed",
    "unchecked",
    "FAILURE",
)
VERDICTS = (REFUSED, IDENTICAL, ACCEPTED, ATTRS, UNCHECKED, FAILURE)
MAX_DETAIL = 2000  # characters of a verdict's detail kept (its length is kept too)


# --------------------------------------------------------------------------- the file kinds

Content = tuple[dict[str, Any], dict[str, Any]]  # (data: must not change silently, attrs: may)


@dataclass(frozen=True)
class Kind:
    """One kind of file: how its original is made, loaded, and compared.

    build(folder, shared_data)  writes the original (and what lies beside it) into ``folder``
    load(folder)                pose3d's loader for it, on the folder's copy
    content(loaded)             (data, attrs): what must not change silently, what may
    rewrite(loaded, folder)     pose3d's writer, then its loader, on an accepted text mutant
    """

    name: str
    file: str  # the mutated file, relative to the folder
    build: Callable[[Path, Path | None], None]
    load: Callable[[Path], Any]
    content: Callable[[Any], Content]
    syntax: str | None = None  # "toml", "json", "csv": token edits too; None: bytes only
    checksummed: bool = False  # a pose3d netCDF file: changed data must be refused
    foreign: bool = False  # copied from ../shared/data
    rewrite: Callable[[Any, Path], Any] | None = None
    implausible: Callable[[Any], str | None] | None = None  # what no valid file holds


def _truth_labels() -> Any:
    from pose3d.io.netcdf import load_labels
    from pose3d.tracking.review import with_track_variables

    return with_track_variables(load_labels(SAMPLE / "truth" / "labels.nc"))


def _build_labels(folder: Path, _shared: Path | None) -> None:
    from pose3d.io.netcdf import save_labels

    save_labels(folder / "labels.nc", _truth_labels())


JOURNAL_EDITS: tuple[tuple[int, str, str, dict[str, Any]], ...] = (
    # (frame, view, keypoint, state): a click, a hidden mark, a review flag, a corner, a redo
    (0, "cam0", "nose", {"position": [100.5, 200.25], "confidence": 1.0, "source": 1}),
    (3, "cam1", "tail_tip", {"position": [None, None], "source": 1, "hidden": True}),
    (10, "cam2", "neck", {"review": True, "review_reason": 1, "review_score": 2.5}),
    (59, "cam3", "paw_back_right", {"position": [639.0, 0.0], "source": 1, "review": False}),
    (0, "cam0", "nose", {"position": [101.0, 201.0], "confidence": 0.75, "source": 1}),
)


def _build_journal(folder: Path, shared: Path | None) -> None:
    from pose3d.io.label_journal import LabelJournal

    _build_labels(folder, shared)
    journal = LabelJournal(folder / "labels.nc.journal")
    for frame, view, keypoint, state in JOURNAL_EDITS:
        journal.append(frame, view, keypoint, "individual_0", state)


def _build_poses(folder: Path, _shared: Path | None) -> None:
    from pose3d.io.netcdf import load_poses, save_poses

    save_poses(folder / "poses3d.nc", load_poses(SAMPLE / "truth" / "poses3d.nc"))


def _build_detections(folder: Path, _shared: Path | None) -> None:
    """The true board corners of the sample's calibration media, as detect would save them."""
    import xarray as xr

    from pose3d.board import BoardDetections
    from pose3d.io.calibration_toml import load_calibration
    from pose3d.io.detections_nc import save_detections
    from pose3d.io.session_toml import load_session

    session = load_session(SAMPLE)
    cameras = load_calibration(SAMPLE / "truth" / "calibration.toml")
    with xr.open_dataset(SAMPLE / "truth" / "board.nc") as truth:
        position = truth["position"].transpose("view", "time", "corner", "space").values
        visible = truth["visible"].transpose("view", "time", "corner").values
        views = tuple(str(v) for v in truth["view"].values)
        frames = truth["time"].values.astype(np.int64)
    corners = np.where(visible[..., None], position, np.nan)
    sizes = {c.name: tuple(int(v) for v in c.size) for c in cameras.cameras}
    assert session.board is not None
    detections = BoardDetections(
        views, tuple(sizes[v] for v in views), frames, corners, session.board
    )
    (folder / "calibration").mkdir(parents=True, exist_ok=True)
    save_detections(folder / "calibration" / "detections.nc", detections)


def _build_calibration(folder: Path, _shared: Path | None) -> None:
    from pose3d.io.calibration_toml import load_calibration, save_calibration

    (folder / "calibration").mkdir(parents=True, exist_ok=True)
    group = load_calibration(SAMPLE / "truth" / "calibration.toml")
    save_calibration(folder / "calibration" / "calibration.toml", group)


def _build_session(folder: Path, _shared: Path | None) -> None:
    from pose3d.io.session_toml import load_session, save_session

    save_session(dataclasses.replace(load_session(SAMPLE), root=folder))


DLC = "dlc_labeled_examples"
FOREIGN = {  # kind -> the file in ../shared/data
    "dlc_h5": f"{DLC}/openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.h5",
    "dlc_csv": (
        f"{DLC}/Reaching-Mackenzie-2018-08-30/labeled-data/reachingvideo1/"
        "CollectedData_Mackenzie.csv"
    ),
    "slp": "sleap_anipose_minimal_session/minimal_session/back/minimal_back_proofread.slp",
    "analysis_h5": (
        "sleap_anipose_minimal_session/minimal_session/back/minimal_back_proofread.analysis.h5"
    ),
}


def _copier(kind: str) -> Callable[[Path, Path | None], None]:
    def build(folder: Path, shared: Path | None) -> None:
        if shared is None:
            raise ValueError(f"the {kind} original comes from ../shared/data; none was given")
        source = shared / FOREIGN[kind]
        shutil.copyfile(source, folder / source.name)

    return build


# loaders ------------------------------------------------------------------------------


def _load_labels(folder: Path) -> Any:
    from pose3d.io.netcdf import load_labels

    return load_labels(folder / "labels.nc")


def _load_labels_in_parts(folder: Path) -> Any:
    """labels.nc read a part of 3 frames at a time (a long recording's reader), joined."""
    import xarray as xr

    from pose3d.io.netcdf import iter_labels

    return xr.concat(list(iter_labels(folder / "labels.nc", 3)), dim="time")


def _load_poses(folder: Path) -> Any:
    from pose3d.io.netcdf import load_poses

    return load_poses(folder / "poses3d.nc")


def _load_detections(folder: Path) -> Any:
    from pose3d.io.detections_nc import load_detections

    return load_detections(folder / "calibration" / "detections.nc")


def _load_calibration(folder: Path) -> Any:
    from pose3d.io.calibration_toml import load_calibration

    return load_calibration(folder / "calibration" / "calibration.toml")


def _load_session(folder: Path) -> Any:
    from pose3d.io.session_toml import load_session

    return load_session(folder)


def _reader(kind: str) -> Callable[[Path], Any]:
    def load(folder: Path) -> Any:
        from pose3d.io.label_formats import reader_for

        path = folder / Path(FOREIGN[kind]).name
        return reader_for(path).read(path)

    return load


# contents -----------------------------------------------------------------------------


def _dataset_content(ds: Any) -> Content:
    data = {f"variable {name}": ds[name].values for name in ds.data_vars}
    data.update({f"coordinate {name}": ds[name].values for name in ds.coords})
    attrs = {"attrs": dict(ds.attrs)}
    attrs.update({f"attrs of {name}": dict(ds[name].attrs) for name in ds.variables})
    return data, attrs


def _detections_content(d: Any) -> Content:
    data = {"views": d.views, "sizes": d.sizes, "frames": d.frames, "corners": d.corners}
    return data, {"board (attributes)": d.board}


def _calibration_content(group: Any) -> Content:
    from pose3d.io.calibration_toml import calibration_to_dict

    return calibration_to_dict(group), {}


def _session_content(session: Any) -> Content:
    from pose3d.io.session_toml import session_to_dict

    return session_to_dict(session), {}


def _implausible_points(points: Any) -> str | None:
    """What an import must refuse, naming the file, rather than leave to labels.nc's checks
    (which then call the session's labels.nc damaged): inf, |x| beyond MAX_LABEL_PX,
    confidence outside [0, 1]."""
    from pose3d.schema import MAX_LABEL_PX

    with np.errstate(invalid="ignore"):
        position, confidence = np.asarray(points.position), np.asarray(points.confidence)
        if np.isinf(position).any() or np.any(np.abs(position) > MAX_LABEL_PX):
            return f"a position of {np.nanmax(np.abs(position)):.3g} px"
        if np.any((confidence < 0) | (confidence > 1)):
            return "a confidence outside [0, 1]"
    return None


def _points_content(points: Any) -> Content:
    names = ("frames", "individuals", "keypoints", "position", "confidence", "manual", "hidden")
    return {name: getattr(points, name) for name in names}, {}


# rewrites: an accepted text mutant must survive pose3d's own writer and loader -----------


def _rewrite_labels(ds: Any, folder: Path) -> Any:
    from pose3d.io.netcdf import load_labels, save_labels

    save_labels(folder / "labels.nc", ds)
    return load_labels(folder / "labels.nc")


def _rewrite_calibration(group: Any, folder: Path) -> Any:
    from pose3d.io.calibration_toml import load_calibration, save_calibration

    save_calibration(folder / "calibration.toml", group)
    return load_calibration(folder / "calibration.toml")


def _rewrite_session(session: Any, folder: Path) -> Any:
    from pose3d.io.session_toml import load_session, save_session

    save_session(dataclasses.replace(session, root=folder))
    return load_session(folder)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("labels", "labels.nc", _build_labels, _load_labels, _dataset_content,
             checksummed=True),
        Kind("journal", "labels.nc.journal", _build_journal, _load_labels, _dataset_content,
             syntax="json", rewrite=_rewrite_labels),
        Kind("labels-parts", "labels.nc", _build_labels, _load_labels_in_parts,
             _dataset_content, checksummed=True),
        Kind("journal-parts", "labels.nc.journal", _build_journal, _load_labels_in_parts,
             _dataset_content, syntax="json", rewrite=_rewrite_labels),
        Kind("poses", "poses3d.nc", _build_poses, _load_poses, _dataset_content,
             checksummed=True),
        Kind("detections", "calibration/detections.nc", _build_detections, _load_detections,
             _detections_content, checksummed=True),
        Kind("calibration", "calibration/calibration.toml", _build_calibration,
             _load_calibration, _calibration_content, syntax="toml",
             rewrite=_rewrite_calibration),
        Kind("session", "session.toml", _build_session, _load_session, _session_content,
             syntax="toml", rewrite=_rewrite_session),
        *(
            Kind(name, Path(FOREIGN[name]).name, _copier(name), _reader(name),
                 _points_content, syntax="csv" if name == "dlc_csv" else None, foreign=True,
                 implausible=_implausible_points)
            for name in FOREIGN
        ),
    )
}  # fmt: skip
SESSION_KINDS = tuple(k for k, kind in KINDS.items() if not kind.foreign)
FOREIGN_KINDS = tuple(k for k, kind in KINDS.items() if kind.foreign)


# the harness's own check: a "file" whose loader does what the file says (tests/io/test_fuzz.py)
HARNESS_ACTIONS = ("ok", "refuse", "traceback", "noise", "crash", "hang")


def _build_harness(folder: Path, _shared: Path | None) -> None:
    (folder / "harness.txt").write_text("ok")


def _load_harness(folder: Path) -> Any:
    import ctypes

    from pose3d.errors import Pose3dError

    action = (folder / "harness.txt").read_text()
    if action == "refuse":
        raise Pose3dError(f"{folder / 'harness.txt'} is refused")
    if action == "traceback":
        raise ValueError("a reader that let a ValueError through")
    if action == "noise":
        print("Exception ignored in: <function File.close>", file=sys.stderr)
    if action == "crash":
        ctypes.string_at(0)  # a segmentation fault
    if action == "hang":
        while True:
            pass
    return "ok"


KINDS["harness"] = Kind(
    "harness", "harness.txt", _build_harness, _load_harness, lambda text: ({"text": text}, {})
)


def build_originals(folder: Path, kinds: Iterable[str], shared_data: Path | None = None) -> Path:
    """Write the original of each kind into ``folder/<kind>/``; returns ``folder``."""
    for name in kinds:
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        KINDS[name].build(target, shared_data)
    return folder


# --------------------------------------------------------------------------- the mutations


@dataclass(frozen=True)
class Mutant:
    kind: str
    seed: int
    index: int
    mutation: str  # what was done, in words
    data: bytes

    @property
    def name(self) -> str:
        return f"{self.kind} seed={self.seed} #{self.index}: {self.mutation}"


def rng_for(kind: str, seed: int, index: int) -> random.Random:
    return random.Random(f"pose3d-fuzz/{kind}/{seed}/{index}")


def mutate(kind: str, seed: int, index: int, original: bytes) -> Mutant:
    """Mutant ``index`` of ``original`` (a file of ``kind``), drawn from its own seed."""
    if kind == "harness":
        action = HARNESS_ACTIONS[index % len(HARNESS_ACTIONS)]
        return Mutant(kind, seed, index, f"a loader that does {action!r}", action.encode())
    rng = rng_for(kind, seed, index)
    syntax = KINDS[kind].syntax
    for _ in range(20):  # a token edit that finds nothing to edit draws again
        if syntax is not None and rng.random() < 0.75:
            edited = _token_edit(rng, original.decode("utf-8"), syntax)
            if edited is not None and edited[0].encode("utf-8") != original:
                text, what = edited
                return Mutant(kind, seed, index, what, text.encode("utf-8"))
        else:
            data, what = _byte_edit(rng, original)
            if data != original:
                return Mutant(kind, seed, index, what, data)
    data, what = _byte_edit(rng, original)
    return Mutant(kind, seed, index, what, data)


def _byte_edit(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    n = len(data)
    at = rng.randrange(n)
    op = rng.choice(("flip", "flip", "flip", "overwrite", "truncate", "delete", "duplicate",
                     "insert"))  # fmt: skip
    if op == "flip":
        bit = rng.randrange(8)
        out = bytearray(data)
        out[at] ^= 1 << bit
        return bytes(out), f"flip bit {bit} of byte {at}"
    if op == "overwrite":
        size = rng.choice((1, 2, 4, 8, 16))
        fill = rng.choice(("random", "zero", "ff"))
        new = {
            "random": bytes(rng.randrange(256) for _ in range(size)),
            "zero": bytes(size),
            "ff": b"\xff" * size,
        }[fill]
        return data[:at] + new + data[at + size :], f"overwrite {size} bytes at {at} ({fill})"
    if op == "truncate":
        return data[:at], f"truncate to {at} of {n} bytes"
    size = rng.choice((1, 8, 64, 512, 4096))
    if op == "delete":
        return data[:at] + data[at + size :], f"delete {size} bytes at {at}"
    if op == "duplicate":
        return data[:at] + data[at : at + size] * 2 + data[at + size :], (
            f"duplicate {size} bytes at {at}"
        )
    new = bytes(rng.randrange(256) for _ in range(size))
    return data[:at] + new + data[at:], f"insert {size} random bytes at {at}"


_NUMBER = re.compile(r"(?<![\w.\"\\-])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_WORD = re.compile(r"\b(?:true|false|null)\b")
_BRACKET = re.compile(r"[\[\]{}]")
_ARRAY = re.compile(r"\[[^\[\]\n]*\]")
_KEY = {  # one key with its value
    "toml": re.compile(r"(?m)^[ \t]*[A-Za-z_][\w-]*[ \t]*=.*\n?"),
    "json": re.compile(
        r'"\w+":\s*(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false|null|\[[^\[\]]*\])\s*,?\s*'
    ),
    "csv": re.compile(r"(?m)^[^,\n]*,"),  # a row's first cell (its frame's name)
}
_TABLE = re.compile(r"(?m)^\[\[?[^\]\n]+\]\]?[ \t]*\n")
_SPECIALS = {
    "toml": ("nan", "inf", "-inf"),
    "json": ("NaN", "Infinity", "-Infinity", "null"),
    "csv": ("nan", "inf", "", "NaN"),
}
_HUGE = ("1e308", "-1e308", "1e300", "1e999", str(2**63), str(2**70), str(10**30), "4.5e15")
_ODD_STRINGS = (
    '""',
    '"../../outside"',
    '"/tmp/elsewhere"',
    '"a\\nb"',
    '"\\u0000"',
    '"ünïcødé ✓"',
    '"a,b \\"quoted\\""',
    '"' + "x" * 5000 + '"',
)


def _pick(rng: random.Random, pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return rng.choice(matches) if matches else None


def _replace(text: str, m: re.Match[str], new: str) -> str:
    return text[: m.start()] + new + text[m.end() :]


def _token_edit(rng: random.Random, text: str, syntax: str) -> tuple[str, str] | None:
    """One token-level edit of ``text`` and its description; None when it found no token."""
    op = rng.choice(("number", "number", "number", "string", "word", "remove key",
                     "duplicate key", "bracket", "array", "line", "table"))  # fmt: skip
    if op == "number":
        m = _pick(rng, _NUMBER, text)
        if m is None:
            return None
        old = m.group()
        what, new = rng.choice(
            (
                ("another number", str(rng.randint(-1000, 1000))),
                ("another number", repr(round(rng.uniform(-1e4, 1e4), rng.randrange(6)))),
                ("zero", "0"),
                ("a huge number", rng.choice(_HUGE)),
                ("a negative", old[1:] if old.startswith("-") else "-" + old),
                ("a fraction", old + ".5" if "." not in old else old.split(".")[0]),
                ("a string", f'"{old}"'),
                ("a boolean", rng.choice(("true", "false"))),
                ("an empty array", "[]"),
                ("not a number", rng.choice(_SPECIALS[syntax])),
            )
        )
        return _replace(text, m, new), f"number {old!r} at char {m.start()} -> {what} {new!r}"
    if op == "string":
        m = _pick(rng, _STRING, text)
        if m is None:
            return None
        others = [s.group() for s in _STRING.finditer(text) if s.group() != m.group()]
        choices = [*_ODD_STRINGS, "5", "true", "[]", "{}"] + (
            [rng.choice(others)] if others else []
        )
        new = rng.choice(choices)
        return _replace(text, m, new), (
            f"string {m.group()[:40]!r} at char {m.start()} -> {new[:40]!r}"
        )
    if op == "word":
        m = _pick(rng, _WORD, text)
        if m is None:
            return None
        new = rng.choice(("true", "false", "null", "0", "1", '"false"', "[]"))
        return _replace(text, m, new), f"{m.group()!r} at char {m.start()} -> {new!r}"
    if op in ("remove key", "duplicate key"):
        m = _pick(rng, _KEY[syntax], text)
        if m is None:
            return None
        key = m.group().strip()[:50]
        if op == "remove key":
            return _replace(text, m, ""), f"remove {key!r} at char {m.start()}"
        return _replace(text, m, m.group() + m.group()), f"duplicate {key!r} at char {m.start()}"
    if op == "bracket":
        m = _pick(rng, _BRACKET, text)
        if m is None:
            return None
        return _replace(text, m, ""), f"remove {m.group()!r} at char {m.start()}"
    if op == "array":
        m = _pick(rng, _ARRAY, text)
        if m is None:
            return None
        items = m.group()[1:-1].split(",")
        how = rng.choice(("empty it", "drop an element", "repeat an element"))
        if how == "empty it":
            new = "[]"
        elif how == "drop an element":
            del items[rng.randrange(len(items))]
            new = "[" + ",".join(items) + "]"
        else:
            items.insert(rng.randrange(len(items) + 1), rng.choice(items))
            new = "[" + ",".join(items) + "]"
        return _replace(text, m, new), f"array at char {m.start()}: {how} -> {new[:60]!r}"
    if op == "table":
        m = _pick(rng, _TABLE, text)
        if m is None:
            return None
        return _replace(text, m, m.group() * 2), f"repeat table {m.group().strip()!r}"
    lines = text.splitlines(keepends=True)
    if not lines:
        return None
    at = rng.randrange(len(lines))
    how = rng.choice(("delete", "repeat", "swap with the next"))
    if how == "delete":
        del lines[at]
    elif how == "repeat":
        lines.insert(at, lines[at])
    else:
        lines[at : at + 2] = lines[at : at + 2][::-1]
    return "".join(lines), f"{how} line {at + 1}"


# --------------------------------------------------------------------------- the verdicts


@dataclass(frozen=True)
class Outcome:
    kind: str
    seed: int
    index: int
    mutation: str
    verdict: str
    detail: str = ""  # the message, the change, or what failed (cut to MAX_DETAIL)
    chars: int = 0  # the detail's length before the cut: how long a message was

    @property
    def name(self) -> str:
        return f"{self.kind} seed={self.seed} #{self.index}: {self.mutation}"


def _equal(a: Any, b: Any) -> bool:
    """Values compare equal, NaN == NaN, arrays by shape and value."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or (a.dtype.kind in "fc") != (b.dtype.kind in "fc"):
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (isinstance(a, np.generic) or isinstance(b, np.generic)):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = list(dict.fromkeys([*a, *b]))
    return [k for k in keys if k not in a or k not in b or not _equal(a[k], b[k])]


def _sample_change(a: Any, b: Any, where: str = "") -> str:
    """The first value that changed, for the report: ``[3, 0, 1]: 12.5 -> 195.5 (2 differ)``,
    ``.matrix[2][2]: 1.0 -> -612``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            if key not in a or key not in b:
                return f"{where}.{key}: {'added' if key in b else 'removed'}"
            if not _equal(a[key], b[key]):
                return _sample_change(a[key], b[key], f"{where}.{key}")
    if (
        isinstance(a, list | tuple)
        and isinstance(b, list | tuple)
        and len(a) == len(b)
        and not any(isinstance(v, np.ndarray) for v in (*a, *b))
    ):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if not _equal(x, y):
                return _sample_change(x, y, f"{where}[{n}]")
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.size:
        with np.errstate(invalid="ignore"):
            same = a == b
            if a.dtype.kind == "f" and b.dtype.kind == "f":
                same |= np.isnan(a) & np.isnan(b)
        where_changed = np.argwhere(~np.asarray(same))
        if where_changed.size:
            at = tuple(int(i) for i in where_changed[0])
            return f"{where}{list(at)}: {a[at]!r} -> {b[at]!r} ({len(where_changed)} differ)"
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return f"{where}: shape {np.shape(a)} {getattr(a, 'dtype', '')} -> {np.shape(b)} " + str(
            getattr(b, "dtype", "")
        )
    return f"{where}: {_short(a)} -> {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def judge(kind: Kind, folder: Path, original: Content) -> tuple[str, str]:
    """The verdict on the mutant in ``folder`` and its detail, against the original's content."""
    from pose3d.errors import Pose3dError

    path = folder / kind.file
    try:
        loaded = kind.load(folder)
    except Pose3dError as error:
        message = str(error)
        if not message.strip():
            return FAILURE, f"{type(error).__name__} with an empty message"
        if path.name not in message:
            return FAILURE, f"message does not name {path.name}: {message[:300]}"
        if "Traceback (most recent call last)" in message:
            return FAILURE, f"message holds a traceback: {message[:300]}..."
        return REFUSED, message
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        return FAILURE, _traceback(error)
    data, attrs = kind.content(loaded)
    changed = _differences(original[0], data)
    if not changed:
        changed_attrs = _differences(original[1], attrs)
        if not changed_attrs:
            return IDENTICAL, ""
        name = changed_attrs[0]
        return ATTRS, _sample_change(original[1].get(name), attrs.get(name), name)
    what = _sample_change(original[0].get(changed[0]), data.get(changed[0]), changed[0])
    absurd = kind.implausible(loaded) if kind.implausible is not None else None
    if absurd is not None:
        return FAILURE, f"read without an error although it holds {absurd}: {what}"
    if kind.checksummed:
        return FAILURE, f"data changed without an error: {what}"
    if kind.syntax is None:
        return UNCHECKED, what
    if kind.rewrite is not None:
        with tempfile.TemporaryDirectory(dir=folder) as again:
            try:
                back = kind.content(kind.rewrite(loaded, Path(again)))
            except BaseException as error:
                if isinstance(error, KeyboardInterrupt):
                    raise
                return FAILURE, f"accepted, but pose3d cannot write it back: {_traceback(error)}"
        if _differences(data, back[0]):
            changed_back = _differences(data, back[0])[0]
            again = _sample_change(data[changed_back], back[0][changed_back], changed_back)
            return FAILURE, f"accepted, but pose3d writes it back otherwise: {again}"
    return ACCEPTED, what


def _traceback(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    return f"{last}{where}"


# --------------------------------------------------------------------------- the child


def _child(argv: Sequence[str]) -> None:
    """Judge the job's mutants (``[kind, index]`` pairs) in order; one JSON line each to
    ``results``, written before the next one starts.

    Every mutant gets a fresh copy of its originals' folder, its stdout / stderr are captured
    (anything written there is a failure), and faulthandler ends the process with the stack
    when one load takes longer than ``timeout_s`` (a hang) or crashes (the parent names it).
    """
    job = json.loads(argv[0])
    scratch = Path(job["scratch"])
    report = os.fdopen(os.dup(2), "w", buffering=1)  # the parent's stderr pipe, kept
    faulthandler.enable(file=report)
    warnings.simplefilter("always")  # each mutant's warning is shown, so counted
    originals: dict[str, tuple[bytes, Content]] = {}
    for name in dict.fromkeys(kind for kind, _ in job["mutants"]):
        kind = KINDS[name]
        folder = Path(job["originals"]) / name
        originals[name] = (folder / kind.file).read_bytes(), kind.content(kind.load(folder))
    gc.freeze()  # what is alive now stays: each mutant's gc.collect() looks at its own objects
    with (
        open(scratch / "captured.txt", "w+b") as capture,
        open(job["results"], "a", encoding="utf-8") as results,
    ):
        for name, index in job["mutants"]:
            kind, (original_bytes, original) = KINDS[name], originals[name]
            mutant = mutate(name, job["seed"], index, original_bytes)
            folder = scratch / "mutant"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(Path(job["originals"]) / name, folder)
            (folder / kind.file).write_bytes(mutant.data)
            faulthandler.dump_traceback_later(job["timeout_s"], exit=True, file=report)
            try:
                with _captured(capture):
                    verdict, detail = judge(kind, folder, original)
                    gc.collect()  # h5py / h5netcdf objects say their last words now
            finally:
                faulthandler.cancel_dump_traceback_later()
            capture.seek(0)
            noise = capture.read().decode("utf-8", "replace")
            capture.seek(0)
            capture.truncate()
            if noise.strip():
                lines = [line for line in noise.strip().splitlines() if line.strip()]
                detail = f"{verdict}, but wrote to stdout/stderr: {' | '.join(lines[-3:])}"
                verdict = FAILURE
            line = {"kind": name, "index": index, "mutation": mutant.mutation}
            line |= {"verdict": verdict, "detail": detail[:MAX_DETAIL], "chars": len(detail)}
            results.write(json.dumps(line) + "\n")
            results.flush()
    faulthandler.disable()
    report.close()


@contextlib.contextmanager
def _captured(capture: Any) -> Any:
    """fds 1 and 2 (and sys.stdout / sys.stderr) into ``capture`` for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(capture.fileno(), 1)
    os.dup2(capture.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


# --------------------------------------------------------------------------- the parent


@dataclass
class Report:
    """The outcomes of one kind's mutants."""

    kind: str
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.verdict for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == FAILURE]

    def describe_failures(self, limit: int = 20) -> str:
        lines = [
            f"{o.name}\n    {o.detail}\n    replay: {replay_command(o)}"
            for o in self.failures[:limit]
        ]
        more = len(self.failures) - limit
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


def replay_command(outcome: Outcome) -> str:
    return (
        f".venv/bin/python benchmarks/fuzz.py --kinds {outcome.kind} --seed {outcome.seed} "
        f"--only {outcome.index} --keep fuzz-mutants"
    )


def run(
    originals: Path,
    plan: Mapping[str, Iterable[int]],
    seed: int,
    *,
    workers: int | None = None,
    timeout_s: float = 30.0,
    batch: int = 200,
) -> dict[str, Report]:
    """Judge mutants ``plan[kind]`` of each kind in child processes, ``workers`` at a time.

    The mutants are dealt out in turn, so that each child judges every kind (one start of
    Python and pose3d per ``batch`` mutants); ``timeout_s`` bounds one mutant's load.
    """
    workers = workers or os.cpu_count() or 1
    mutants = [(kind, index) for kind, indices in plan.items() for index in indices]
    shares = [mutants[w::workers] for w in range(workers)]
    jobs = [share[i : i + batch] for share in shares for i in range(0, len(share), batch)]
    with (
        tempfile.TemporaryDirectory(prefix="pose3d-fuzz-") as scratch,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        parts = list(
            pool.map(
                lambda n: _run_job(originals, seed, jobs[n], Path(scratch) / str(n), timeout_s),
                range(len(jobs)),
            )
        )
    reports = {kind: Report(kind, seed) for kind in plan}
    for part in parts:
        for outcome in part:
            reports[outcome.kind].outcomes.append(outcome)
    for report in reports.values():
        report.outcomes.sort(key=lambda o: o.index)
    return reports


def _run_job(
    originals: Path,
    seed: int,
    mutants: list[tuple[str, int]],
    scratch: Path,
    timeout_s: float,
) -> list[Outcome]:
    """Children until every mutant has a verdict; a child that dies names its mutant.

    A mutant whose load ran out of time is judged again alone with three times as long, so
    that a machine busy with other work is not taken for a hang.
    """
    outcomes: list[Outcome] = []
    remaining = list(mutants)
    while remaining:
        done, rc, stderr = _start_child(originals, seed, remaining, scratch, timeout_s)
        outcomes += done
        remaining = remaining[len(done) :]
        if rc == 0 and not remaining:
            break
        if not remaining:  # every mutant judged, then the child failed on its way out
            last = outcomes.pop()
            detail = f"judged {last.verdict}, then {_death(rc, stderr, timeout_s)}"
            outcomes.append(dataclasses.replace(last, verdict=FAILURE, detail=detail))
            break
        culprit = remaining.pop(0)
        limit = timeout_s
        if _timed_out(rc, stderr):
            limit = 3 * timeout_s
            again, rc, stderr = _start_child(originals, seed, [culprit], scratch, limit)
            if again and rc == 0:
                outcomes += again
                continue
        kind, index = culprit
        mutation = mutant_file(originals, kind, seed, index).mutation
        outcomes.append(Outcome(kind, seed, index, mutation, FAILURE, _death(rc, stderr, limit)))
    return outcomes


def _start_child(
    originals: Path,
    seed: int,
    mutants: list[tuple[str, int]],
    scratch: Path,
    timeout_s: float,
) -> tuple[list[Outcome], int | None, str]:
    """One child on ``mutants``: the outcomes it wrote, its exit status (None: killed), stderr."""
    scratch.mkdir(parents=True, exist_ok=True)
    results = scratch / "results.jsonl"
    results.unlink(missing_ok=True)
    job = {
        "mutants": mutants,
        "seed": seed,
        "originals": str(originals),
        "scratch": str(scratch),
        "results": str(results),
        "timeout_s": timeout_s,
    }
    code = "import sys; from tests.support.fuzz import _child; _child(sys.argv[1:])"
    try:
        child = subprocess.run(
            [sys.executable, "-c", code, json.dumps(job)],
            cwd=REPO,
            capture_output=True,
            timeout=120 + timeout_s * len(mutants),  # faulthandler ends a hang long before
            check=False,
        )
        rc, stderr = child.returncode, child.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as expired:
        rc, stderr = None, (expired.stderr or b"").decode("utf-8", "replace")
    return _read_results(results, seed), rc, stderr


def _timed_out(rc: int | None, stderr: str) -> bool:
    return rc is None or "Timeout (" in stderr


def _read_results(path: Path, seed: int) -> list[Outcome]:
    if not path.exists():
        return []
    outcomes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            break  # the child died while writing this line
        outcomes.append(
            Outcome(
                row["kind"],
                seed,
                row["index"],
                row["mutation"],
                row["verdict"],
                row["detail"],
                row["chars"],
            )
        )
    return outcomes


def _death(rc: int | None, stderr: str, timeout_s: float) -> str:
    tail = " | ".join(line for line in stderr.strip().splitlines()[-6:] if line.strip())
    if _timed_out(rc, stderr):
        return f"hang: no verdict after {timeout_s:g} s; {tail}"
    if rc < 0:
        return f"crash: killed by signal {-rc}; {tail}"
    return f"the child exited with {rc}: {tail}"


def mutant_file(originals: Path, kind: str, seed: int, index: int) -> Mutant:
    """The mutant the children judged, rebuilt (to keep a failing one for a bug report)."""
    original = (originals / kind / KINDS[kind].file).read_bytes()
    return mutate(kind, seed, index, original)
