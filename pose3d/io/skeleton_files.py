"""A skeleton (keypoint names, edges, individuals) from another tool's project file, to create a
session with (``pose3d init --skeleton-from FILE``, the TUI's New session dialog).

- DeepLabCut ``config.yaml`` (read with ``yaml.safe_load``: tags that would build Python
  objects are refused): ``bodyparts`` and ``skeleton`` (pairs of body parts); a multi-animal
  project (``multianimalproject: true``) has ``multianimalbodyparts``, ``uniquebodyparts``
  (appended, as DeepLabCut labels them) and ``individuals``.
- SLEAP ``.slp`` (labels project, HDF5): the file's one skeleton, its nodes in the skeleton's
  order and its *body* edges (SLEAP's symmetry edges, which pair left with right, are no bones);
  the file's tracks are not individuals of a new session (they are per video), so none is read.

Every name is checked as session.toml checks them (pose3d.skeleton): the message names the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pose3d.errors import Pose3dError
from pose3d.io.hdf5_reading import member, open_file

BODY_EDGE = 1  # SLEAP's EdgeType.BODY (2 is SYMMETRY)
MAX_BYTES = 1 << 20  # a config.yaml is a few kB; a bigger file is not one


@dataclass(frozen=True)
class SkeletonSpec:
    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    individuals: tuple[str, ...] = ()  # () when the file does not name them


def read_skeleton(path: str | Path) -> SkeletonSpec:
    """The skeleton of a DeepLabCut config.yaml or a SLEAP .slp; raises Pose3dError naming the
    file and what it expected."""
    path = Path(path)
    if not path.is_file():
        raise Pose3dError(
            f"{path} is not a file; give a DeepLabCut project's config.yaml or a SLEAP .slp"
        )
    if path.suffix.lower() in (".yaml", ".yml"):
        return _from_dlc_config(path)
    if path.suffix.lower() == ".slp":
        return _from_slp(path)
    raise Pose3dError(
        f"{path}: a skeleton is read from a DeepLabCut config.yaml or a SLEAP .slp, not a "
        f"{path.suffix or 'file without extension'}"
    )


def _from_dlc_config(path: Path) -> SkeletonSpec:
    import yaml

    if path.stat().st_size > MAX_BYTES:
        raise Pose3dError(f"{path} is {path.stat().st_size:,} bytes: not a DeepLabCut config.yaml")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Pose3dError(
            f"{path} is not valid YAML ({first}); give a DeepLabCut config.yaml"
        ) from None
    if not isinstance(config, dict):
        raise Pose3dError(f"{path} holds no settings table; give a DeepLabCut config.yaml")
    multi = bool(config.get("multianimalproject"))
    if multi:
        parts = [
            *_names(config, "multianimalbodyparts", path),
            *_names(config, "uniquebodyparts", path),
        ]
        individuals = _names(config, "individuals", path)
    else:
        parts, individuals = list(_names(config, "bodyparts", path)), ()
    if not parts:
        key = "multianimalbodyparts" if multi else "bodyparts"
        raise Pose3dError(f"{path} lists no {key}; is it a DeepLabCut project's config.yaml?")
    edges = []
    for pair in config.get("skeleton") or []:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise Pose3dError(f"{path}: skeleton entry {pair!r} is not a pair of body parts")
        edges.append((pair[0], pair[1]))
    return _checked(path, tuple(parts), tuple(edges), tuple(individuals))


def _names(config: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = config.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Pose3dError(f"{path}: {key} must be a list of names, got {value!r}")
    return tuple(value)


def _from_slp(path: Path) -> SkeletonSpec:
    try:
        with open_file(path) as fh:
            meta = json.loads(member(fh, "metadata", "group").attrs["json"])
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise Pose3dError(
            f"{path} cannot be read as a SLEAP labels file ({exc}); save it again from SLEAP"
        ) from None
    nodes = meta.get("nodes") if isinstance(meta, dict) else None
    skeletons = meta.get("skeletons") if isinstance(meta, dict) else None
    if not isinstance(nodes, list) or not isinstance(skeletons, list) or len(skeletons) != 1:
        count = len(skeletons) if isinstance(skeletons, list) else 0
        raise Pose3dError(f"{path} has {count} skeletons; pose3d reads files with exactly one")
    names = [n.get("name") if isinstance(n, dict) else None for n in nodes]
    skeleton = skeletons[0]
    order = [
        _node_id(n.get("id") if isinstance(n, dict) else None, path) for n in skeleton["nodes"]
    ]
    keypoints = tuple(_node_name(names, i, path) for i in order)
    edges = []
    kinds: list[int] = []  # EdgeType values in the order jsonpickle first wrote them (py/id)
    for link in skeleton.get("links", []):
        kind = _edge_type(link.get("type"), kinds)
        if kind != BODY_EDGE:
            continue
        source = _node_name(names, _node_id(link.get("source"), path), path)
        target = _node_name(names, _node_id(link.get("target"), path), path)
        edges.append((source, target))
    return _checked(path, keypoints, tuple(edges), ())


def _node_id(ref: Any, path: Path) -> int:
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    raise Pose3dError(
        f"{path}: skeleton node {ref!r} is in a layout pose3d does not read; re-save the file "
        "with SLEAP >= 1.3"
    )


def _node_name(names: list[Any], index: int, path: Path) -> str:
    if not 0 <= index < len(names) or not isinstance(names[index], str):
        raise Pose3dError(f"{path}: skeleton node {index} has no name; the file is damaged")
    return str(names[index])


def _edge_type(value: Any, kinds: list[int]) -> int | None:
    """SLEAP's EdgeType of a link (jsonpickle: the first of each type is written whole, later
    ones as ``py/id`` n, the n-th written); None where it cannot be told."""
    if not isinstance(value, dict):
        return None
    if "py/reduce" in value:
        try:
            kind = int(value["py/reduce"][1]["py/tuple"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        kinds.append(kind)
        return kind
    ref = value.get("py/id")
    if isinstance(ref, int) and 1 <= ref <= len(kinds):
        return kinds[ref - 1]
    return None


def _checked(
    path: Path,
    keypoints: tuple[str, ...],
    edges: tuple[tuple[str, str], ...],
    individuals: tuple[str, ...],
) -> SkeletonSpec:
    from pose3d.skeleton import Skeleton

    try:
        Skeleton.from_lists(keypoints, edges)
    except (Pose3dError, ValueError) as exc:
        raise Pose3dError(f"{path}: {exc}") from None
    return SkeletonSpec(keypoints, edges, individuals)
