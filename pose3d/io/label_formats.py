"""2D label files of other tools (DeepLabCut, SLEAP): what a reader returns, which reader reads a
file, and the renaming of a file's names to the session's.

The readers are registered in pose3d.io.formats (one registry of every format, 2D and 3D): a
file is matched by a format's name patterns, then by its ``check`` (which reads the file's
structure), never by an if/elif on suffixes (`reader_for`). A reader returns `ImportedPoints` in
the file's own names and camera frames; `renamed` maps them to the session's through a
`NameMap`. Merging them into labels.nc is pose3d.pipeline.labels_io.import_labels's job.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.io.file_kinds import kind
from pose3d.io.formats import FORMATS, Format
from pose3d.session import Session


@dataclass(frozen=True)
class ImportedPoints:
    """2D points read from another tool's file, in the file's names and the camera's frames.

    frames      (F,)          camera frame numbers (0 = first frame of the view's video), unique
    position    (F, I, K, 2)  px, x then y, centre of the top-left pixel = (0, 0); NaN = no point
    confidence  (F, I, K)     0-1, NaN = unknown
    manual      (F, I, K)     bool: the file says a human placed the point (or hidden mark)
    hidden      (F, I, K)     bool: the file says the keypoint is not visible (position NaN);
                              all False for a format without the notion (DeepLabCut)
    """

    path: Path
    frames: NDArray[np.int64]
    individuals: tuple[str, ...]
    keypoints: tuple[str, ...]
    position: NDArray[np.float64]
    confidence: NDArray[np.float64]
    manual: NDArray[np.bool_]
    hidden: NDArray[np.bool_]

    def __post_init__(self) -> None:
        f, i, k = len(self.frames), len(self.individuals), len(self.keypoints)
        cells = (self.confidence.shape, self.manual.shape, self.hidden.shape)
        if self.position.shape != (f, i, k, 2) or any(c != (f, i, k) for c in cells):
            raise ValueError(
                f"ImportedPoints shapes disagree: {self.position.shape} vs {(f, i, k)}"
            )
        if np.any(self.hidden & ~np.isnan(self.position).all(-1)):
            raise ValueError("ImportedPoints: a hidden keypoint has a position; give NaN there")
        if len(set(self.frames.tolist())) != f:
            raise Pose3dError(f"{self.path}: a frame is listed twice; remove the duplicate rows")
        self._check_values()

    def _check_values(self) -> None:
        """Refuse a coordinate no image has and a confidence outside 0-1: the file is damaged
        (refused here, naming it, rather than written into labels.nc)."""
        from pose3d.schema import MAX_LABEL_PX

        with np.errstate(invalid="ignore"):
            bad_xy = np.isinf(self.position) | (np.abs(self.position) > MAX_LABEL_PX)
            bad_conf = np.isinf(self.confidence) | (self.confidence < 0) | (self.confidence > 1)
        if bad_xy.any():
            f, i, k, c = (int(v) for v in np.argwhere(bad_xy)[0])
            raise Pose3dError(
                f"{self.path}: frame {int(self.frames[f])}, keypoint {self.keypoints[k]!r} of "
                f"{self.individuals[i]!r}: {'xy'[c]} = {self.position[f, i, k, c]:.6g} px is not "
                f"a pixel coordinate (expected |x|, |y| <= {MAX_LABEL_PX:.0e} px); the file is "
                "damaged: export it again from the other tool"
            )
        if bad_conf.any():
            f, i, k = (int(v) for v in np.argwhere(bad_conf)[0])
            raise Pose3dError(
                f"{self.path}: frame {int(self.frames[f])}, keypoint {self.keypoints[k]!r} of "
                f"{self.individuals[i]!r}: confidence {self.confidence[f, i, k]:.6g} is outside "
                "0-1; the file is damaged: export it again from the other tool"
            )


def reader_for(path: str | os.PathLike[str]) -> Format:
    """The registered format that reads ``path``; raises naming the formats that were tried."""
    path = Path(path)
    if not path.exists():
        raise Pose3dError(f"{path} does not exist; check the path")
    if not path.is_file():  # a FIFO or device would block the readers forever
        raise Pose3dError(
            f"{path} is {kind(path.stat().st_mode)}, not a regular file; give the label file itself"
        )
    readable = [f for f in FORMATS if f.read is not None]
    name = path.name.lower()
    tried = []
    for fmt in readable:
        if not any(fnmatch.fnmatch(name, p) for p in fmt.patterns):
            continue
        why = fmt.check(path) if fmt.check is not None else None
        if why is None:
            return fmt
        tried.append(f"{fmt.name}: {why}")
    known = "; ".join(f"{f.name} ({', '.join(f.patterns)})" for f in readable)
    detail = f" It was tried as {'; '.join(tried)}." if tried else ""
    raise Pose3dError(
        f"{path} is not a label file pose3d can import.{detail} Supported: {known}; "
        "export the labels from the other tool again if the file is damaged"
    )


@dataclass(frozen=True)
class NameMap:
    """Renames from a file's keypoints / individuals to the session's (a TOML mapping table).

    ```toml
    ignore = ["Joystick1"]        # file keypoints to leave out
    [keypoints]
    snout = "nose"                # file name = session name
    [individuals]
    track_0 = "mouse"
    ```
    """

    keypoints: Mapping[str, str] = field(default_factory=dict)
    individuals: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()


def load_name_map(path: str | os.PathLike[str]) -> NameMap:
    """Read a mapping table (see `NameMap`); raises naming the file and the bad entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Pose3dError(
            f"mapping table {path} cannot be read ({exc}); expected TOML with a [keypoints] "
            'table of file_name = "session_name" lines'
        ) from None
    unknown = sorted(set(data) - {"keypoints", "individuals", "ignore"})
    if unknown:
        raise Pose3dError(
            f"mapping table {path}: unknown entries {unknown}; expected [keypoints], "
            "[individuals] and ignore = [...]"
        )
    tables: dict[str, dict[str, str]] = {}
    for key in ("keypoints", "individuals"):
        table = data.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise Pose3dError(
                f'mapping table {path}: [{key}] must hold file_name = "session_name" lines'
            )
        tables[key] = table
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise Pose3dError(f'mapping table {path}: ignore must be a list of names, e.g. ["tail"]')
    return NameMap(tables["keypoints"], tables["individuals"], frozenset(ignore))


def renamed(points: ImportedPoints, session: Session, names: NameMap) -> ImportedPoints:
    """``points`` with the keypoints and individuals of ``session``, through ``names``; raises
    naming what the session does not have."""
    keep = [i for i, k in enumerate(points.keypoints) if k not in names.ignore]
    keypoints = tuple(names.keypoints.get(points.keypoints[i], points.keypoints[i]) for i in keep)
    unknown = [k for k in keypoints if k not in session.skeleton.keypoints]
    if unknown:
        raise Pose3dError(
            f"{points.path} holds keypoints the session does not have: {', '.join(unknown)} "
            f"(session keypoints: {', '.join(session.skeleton.keypoints)}); nothing was "
            "imported. Give a mapping table (--map MAP.toml, see docs/interop.md) that renames "
            "or ignores them"
        )
    if len(set(keypoints)) != len(keypoints):
        raise Pose3dError(f"{points.path}: the mapping table maps two keypoints to one name")
    individuals = tuple(names.individuals.get(i, i) for i in points.individuals)
    if len(individuals) == 1 and len(session.individuals) == 1 and not names.individuals:
        individuals = session.individuals
    unknown = [i for i in individuals if i not in session.individuals]
    if unknown:
        raise Pose3dError(
            f"{points.path} holds individuals the session does not have: {', '.join(unknown)} "
            f"(session individuals: {', '.join(session.individuals)}); nothing was imported. "
            "Map them in the [individuals] table of a mapping table (--map MAP.toml)"
        )
    return ImportedPoints(
        points.path,
        points.frames,
        individuals,
        keypoints,
        points.position[:, :, keep],
        points.confidence[:, :, keep],
        points.manual[:, :, keep],
        points.hidden[:, :, keep],
    )
