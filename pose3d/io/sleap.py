"""SLEAP: import labels projects (.slp) and analysis files (.analysis.h5), read with h5py.

``.slp`` (SLEAP >= 1.0 labels, HDF5): one video per file (the view's), one skeleton. In each
frame and track a *user* instance (instance_type 0, placed or corrected in SLEAP's GUI) wins over
a *predicted* one (instance_type 1, model output): user points are MANUAL, predicted points are
IMPORTED with the point score (clipped to 0-1) as confidence. A node whose ``visible`` flag is
false (SLEAP's "not visible", set by the labeller or by a model that found no peak) is a
*hidden* keypoint of the instance's source: no position, ``hidden`` True (pose3d.labels); a
visible node without coordinates (NaN, as sleap-anipose's proofread files hold) is no point.
Tracks become individuals (``track_0`` ...); untracked instances belong to ``untracked``, at
most one per frame.

``.analysis.h5`` (SLEAP's "Export Analysis HDF5"): ``tracks`` read by h5py as
(n_tracks, 2, n_nodes, n_frames), ``point_scores`` (n_tracks, n_nodes, n_frames), ``node_names``,
``track_names``; column f is video frame f. The file does not say which instances a human made,
so its points are IMPORTED (point score, clipped to 0-1, as confidence) unless imported
``--as labels``. It writes an invisible node as NaN, like a missing one, so it has no hidden
keypoints: NaN is no point.

Coordinates: SLEAP files of format 1.1 and later put the centre of the top-left pixel at (0, 0),
as pose3d does, and are copied unchanged; older .slp files (format < 1.1) are shifted by -0.5 px.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.io.hdf5_reading import member, open_file, read
from pose3d.io.label_formats import ImportedPoints

USER, PREDICTED = 0, 1
UNTRACKED = "untracked"
_SLP_DATASETS = ("frames", "instances", "points", "pred_points")
_ANALYSIS_DATASETS = ("tracks", "node_names", "track_names")


def _open(path: Path) -> Any:
    try:
        return open_file(path)
    except OSError as exc:
        raise Pose3dError(
            f"{path} cannot be opened as HDF5 ({exc}); the file is damaged or incomplete; "
            "export it again from SLEAP"
        ) from None


def _missing(path: Path, names: tuple[str, ...]) -> str | None:
    try:
        with open_file(path) as fh:
            absent = [n for n in names if n not in fh]
    except (OSError, RuntimeError) as exc:
        return f"cannot be opened as HDF5 ({exc})"
    return f"datasets {', '.join(absent)} are missing" if absent else None


def check_slp(path: Path) -> str | None:
    """None when ``path`` looks like a SLEAP labels file, else why not."""
    return _missing(path, (*_SLP_DATASETS, "metadata"))


def check_analysis(path: Path) -> str | None:
    """None when ``path`` looks like a SLEAP analysis file, else why not."""
    return _missing(path, _ANALYSIS_DATASETS)


def _decode(names: Any, what: str) -> tuple[str, ...]:
    """Names stored as bytes or str (vlen or fixed-length strings); anything else is refused."""
    decoded = []
    for n in np.asarray(names).ravel().tolist():
        if isinstance(n, bytes):
            n = n.decode("utf-8")
        if not isinstance(n, str):
            raise ValueError(f"{what} holds {type(n).__name__} values, expected text")
        decoded.append(n)
    return tuple(decoded)


def read_analysis(path: Path) -> ImportedPoints:
    """Read a SLEAP analysis HDF5 file (module docstring)."""
    with _open(path) as fh:
        try:
            tracks = np.asarray(read(fh, "tracks"), dtype=np.float64)
            nodes = _decode(read(fh, "node_names"), "node_names")
            names = _decode(read(fh, "track_names"), "track_names")
            scores = None
            if "point_scores" in fh:
                scores = np.asarray(read(fh, "point_scores"), dtype=np.float64)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise Pose3dError(
                f"{path}: cannot read the SLEAP analysis datasets ({exc}); the file is damaged "
                "or not SLEAP's; export it again from SLEAP"
            ) from None
    if not names and tracks.ndim == 4 and tracks.shape[0] == 1:
        names = ("track_0",)  # SLEAP names no track when the project has none
    if tracks.ndim != 4 or tracks.shape[:3] != (len(names), 2, len(nodes)):
        raise Pose3dError(
            f"{path}: tracks has shape {tracks.shape}, expected (n_tracks={len(names)}, 2, "
            f"n_nodes={len(nodes)}, n_frames) as SLEAP writes it; was it exported untransposed?"
        )
    position = tracks.transpose(3, 0, 2, 1)  # (tracks, xy, nodes, frames) -> (F, I, K, 2)
    if scores is None:
        confidence = np.full(position.shape[:3], np.nan)
    elif scores.shape != (len(names), len(nodes), tracks.shape[3]):
        raise Pose3dError(
            f"{path}: point_scores has shape {scores.shape}, expected (n_tracks={len(names)}, "
            f"n_nodes={len(nodes)}, n_frames={tracks.shape[3]}) like tracks"
        )
    else:
        confidence = _score(scores.transpose(2, 0, 1))  # -> (F, I, K)
    frames = np.flatnonzero(np.any(np.isfinite(position).all(-1), axis=(1, 2)))
    return ImportedPoints(
        path,
        frames.astype(np.int64),
        names,
        nodes,
        position[frames],
        confidence[frames],
        np.zeros(position[frames].shape[:3], bool),
        np.zeros(position[frames].shape[:3], bool),  # NaN: missing or invisible, unsaid
    )


def read_slp(path: Path) -> ImportedPoints:
    """Read a SLEAP labels file (module docstring); a malformed value is one Pose3dError."""
    try:
        return _read_slp(path)
    except Pose3dError:
        raise
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        IndexError,
        TypeError,
        AttributeError,
        OverflowError,
    ) as exc:
        raise Pose3dError(
            f"{path}: cannot read the SLEAP labels ({type(exc).__name__}: {exc}); the file is "
            "damaged or from an unsupported SLEAP version; save it again with SLEAP"
        ) from None


def _read_slp(path: Path) -> ImportedPoints:
    with _open(path) as fh:
        metadata = member(fh, "metadata", "group")
        meta = json.loads(metadata.attrs["json"])
        format_id = float(metadata.attrs.get("format_id", 1.0))
        data = {n: read(fh, n) for n in _SLP_DATASETS}
        videos = list(read(fh, "videos_json")) if "videos_json" in fh else []
        tracks = [_track_name(t) for t in read(fh, "tracks_json")] if "tracks_json" in fh else []
    if len(videos) > 1:
        raise Pose3dError(
            f"{path} holds labels of {len(videos)} videos; pose3d imports one video per view: "
            "save each video's labels to its own .slp in SLEAP (or export an analysis file)"
        )
    nodes = _skeleton_nodes(meta, path)
    rows = _chosen_instances(data, tracks, path)
    frames = np.array(sorted({f for f, _ in rows}), dtype=np.int64)
    individuals = tuple(dict.fromkeys(k for _, k in sorted(rows, key=lambda r: r[1])))
    shape = (len(frames), len(individuals), len(nodes))
    position = np.full((*shape, 2), np.nan)
    confidence = np.full(shape, np.nan)
    manual = np.zeros(shape, bool)
    hidden = np.zeros(shape, bool)
    for (frame, key), inst in rows.items():
        a, b = int(np.searchsorted(frames, frame)), individuals.index(key)
        table = data["points"] if inst["instance_type"] == USER else data["pred_points"]
        pts = table[int(inst["point_id_start"]) : int(inst["point_id_end"])]
        if len(pts) != len(nodes):
            raise Pose3dError(
                f"{path}: an instance of frame {frame} has {len(pts)} points, the skeleton "
                f"{len(nodes)} nodes; the file is damaged"
            )
        xy = np.stack([pts["x"], pts["y"]], -1).astype(np.float64)
        invisible = ~pts["visible"].astype(bool)
        xy[invisible] = np.nan
        hidden[a, b] = invisible
        with np.errstate(invalid="ignore"):  # a signalling NaN in a damaged file
            position[a, b] = xy - (0.5 if format_id < 1.1 else 0.0)
        if inst["instance_type"] == USER:
            manual[a, b] = True
        else:
            confidence[a, b] = _score(pts["score"])
    return ImportedPoints(path, frames, individuals, nodes, position, confidence, manual, hidden)


def _score(score: Any) -> NDArray[np.float64]:
    """SLEAP's point score as a confidence: clipped to 0-1 (a confidence-map peak may pass 1);
    NaN stays NaN."""
    return np.clip(np.asarray(score, dtype=np.float64), 0.0, 1.0)


def _track_name(entry: Any) -> str:
    """A tracks_json entry (JSON ``[spawned_on, name]``): the name, which must be text."""
    name = json.loads(entry)[1]
    if not isinstance(name, str):
        raise ValueError(f"a track is named {name!r}, expected text")
    return name


def _skeleton_nodes(meta: dict[str, Any], path: Path) -> tuple[str, ...]:
    skeletons = meta.get("skeletons", [])
    if len(skeletons) != 1:
        raise Pose3dError(
            f"{path} has {len(skeletons)} skeletons; pose3d imports files with exactly one"
        )
    names = [n["name"] for n in meta["nodes"]]
    nodes = []
    for node in skeletons[0]["nodes"]:
        ref = node["id"]
        if isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref < len(names):
            nodes.append(names[ref])
        elif isinstance(ref, dict) and "py/state" in ref:
            nodes.append(ref["py/state"]["py/tuple"][0])
        else:
            raise Pose3dError(
                f"{path}: skeleton node {ref!r} is in a layout pose3d does not read; re-save the "
                "file with SLEAP >= 1.3 or export an analysis file"
            )
    if not all(isinstance(n, str) for n in nodes):
        raise Pose3dError(
            f"{path}: a skeleton node has a name that is not text; the file is damaged"
        )
    return tuple(nodes)


def _chosen_instances(
    data: dict[str, NDArray[Any]], tracks: list[str], path: Path
) -> dict[tuple[int, str], NDArray[Any]]:
    """(video frame, track name) -> the instance to import: user wins over predicted."""
    instances = data["instances"]
    chosen: dict[tuple[int, str], NDArray[Any]] = {}
    for frame in data["frames"]:
        start, end = int(frame["instance_id_start"]), int(frame["instance_id_end"])
        for inst in instances[start:end]:
            track = int(inst["track"])
            key = (int(frame["frame_idx"]), tracks[track] if track >= 0 else UNTRACKED)
            held = chosen.get(key)
            if held is None or held["instance_type"] > inst["instance_type"]:
                chosen[key] = inst
            elif held["instance_type"] == inst["instance_type"]:
                raise Pose3dError(
                    f"{path}: frame {key[0]} holds several instances of {key[1]}; pose3d needs "
                    "one instance per track and frame: assign tracks in SLEAP first"
                )
    return chosen
