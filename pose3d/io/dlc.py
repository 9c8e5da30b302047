"""DeepLabCut: CollectedData labels and video predictions (import), labeled-data folders (export).

Files read (pandas tables, key ``df_with_missing`` in .h5; three or four header rows in .csv).
An .h5 is decoded by pose3d.io.pandas_hdf with h5py, never with pandas / PyTables, which unpickle
(a crafted file would run code); an index or label stored as a pickle is refused. A .csv cell
that is not a number is refused naming its row and column.

- ``CollectedData_<scorer>.h5/.csv`` (hand labels): columns ``(scorer, [individuals,] bodyparts,
  coords=x|y)``; rows are images, either old-style flat paths ``labeled-data/<video>/img0042.png``
  (``\\`` separators too) or the newer 3-level index ``("labeled-data", <video>, "img0042.png")``.
  The frame number is the last run of digits of the image name (img0042.png -> camera frame 42).
  Points are MANUAL; NaN = not labelled.
- ``<video>DLC_<network>.h5/.csv`` (predictions of ``analyze_videos``): rows are frame numbers,
  coords ``x, y, likelihood``; points are IMPORTED with the likelihood as confidence.

Single-animal files have one individual, ``individual_0``. Coordinates are copied unchanged:
DeepLabCut's pixel convention (matplotlib/napari: centre of the top-left pixel = (0, 0)) is
pose3d's.

Export (formats registered in pose3d.io.formats):

- ``dlc``: ``OUT/labeled-data/<video stem>/`` per view with manual points: the labelled frames
  as ``img<frame>.png`` (DeepLabCut's zero padding) read from the session's video, and
  ``CollectedData_<scorer>.h5`` (key ``df_with_missing``, pandas fixed format) and ``.csv`` in
  DeepLabCut >= 2.2's layout (3-level row index). The video stem and the scorer become file
  names through pose3d.io.safe_names.file_name, and each folder is checked to lie inside OUT.
- ``dlc-h5``: DeepLabCut's 3D table of a poses dataset, to the file OUT: key
  ``df_with_missing`` (pandas table format), columns ``(scorer, bodyparts, coords)`` with coords
  ``x, y, z`` — or ``(scorer, individuals, bodyparts, coords)`` when there are several
  individuals, as in multi-animal DeepLabCut; rows are frames. Needs PyTables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from pose3d import schema as s
from pose3d.errors import Pose3dError
from pose3d.io.anipose import one_individual
from pose3d.io.atomic import atomic_path, atomic_write_bytes
from pose3d.io.formats import ExportData
from pose3d.io.hdf5_reading import open_file
from pose3d.io.label_formats import ImportedPoints
from pose3d.io.pandas_hdf import pandas_keys, read_frame
from pose3d.io.safe_names import file_name, inside
from pose3d.session import Session

if TYPE_CHECKING:
    from pose3d.io.video_reading import VideoReader

H5_KEY = "df_with_missing"
DEFAULT_SCORER = "pose3d"
SINGLE_INDIVIDUAL = "individual_0"
_HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")
_DIGITS = re.compile(r"(\d+)\D*$")
_MAX_FRAME_DIGITS = 12  # 10**12 frames: 300 years at 100 fps


def check_dlc(path: Path) -> str | None:
    """None when ``path`` looks like a DeepLabCut table, else why not."""
    if path.suffix.lower() == ".csv":
        try:
            with open(path, encoding="utf-8") as fh:
                first = fh.readline()
        except (OSError, UnicodeDecodeError) as exc:
            return f"cannot be read as text ({exc})"
        return None if first.startswith("scorer,") else "its first row does not start with scorer,"
    try:
        with open_file(path) as fh:
            tables = pandas_keys(fh)
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        return f"cannot be opened as HDF5 ({exc})"
    return None if tables else f"holds no pandas table (DeepLabCut writes key {H5_KEY!r})"


def read_dlc(path: Path) -> ImportedPoints:
    """Read a CollectedData or prediction file (h5 or csv) into points (see module docstring)."""
    table = _read_table(path)
    columns = table.columns
    if columns.nlevels not in (3, 4) or list(columns.names)[-1] != "coords":
        raise Pose3dError(
            f"{path}: columns have levels {list(columns.names)}, expected DeepLabCut's "
            "(scorer, [individuals,] bodyparts, coords)"
        )
    coords = set(columns.get_level_values(-1))
    if not {"x", "y"} <= coords or not coords <= {"x", "y", "likelihood"}:
        raise Pose3dError(f"{path}: coords are {sorted(coords)}, expected x, y [, likelihood]")
    frames = np.array([_frame_number(row, path) for row in table.index], dtype=np.int64)
    _check_one_video(table.index, path)
    bodyparts = tuple(dict.fromkeys(columns.get_level_values(-2)))
    if columns.nlevels == 4:
        individuals = tuple(dict.fromkeys(columns.get_level_values(1)))
    else:
        individuals = (SINGLE_INDIVIDUAL,)
    shape = (len(frames), len(individuals), len(bodyparts))
    position = np.full((*shape, 2), np.nan)
    confidence = np.full(shape, np.nan)
    values = table.to_numpy(dtype=np.float64)  # (F, columns)
    for col, key in enumerate(columns):
        ind = individuals.index(key[1]) if columns.nlevels == 4 else 0
        part = bodyparts.index(key[-2])
        if key[-1] == "likelihood":
            confidence[:, ind, part] = values[:, col]
        else:
            position[:, ind, part, "xy".index(key[-1])] = values[:, col]
    order = np.argsort(frames, kind="stable")
    manual = np.full(shape, "likelihood" not in coords)
    return ImportedPoints(
        path,
        frames[order],
        individuals,
        bodyparts,
        position[order],
        confidence[order],
        manual[order],
        np.zeros(shape, bool),  # DeepLabCut has no hidden state: NaN is "no point"
    )


def _read_table(path: Path) -> pd.DataFrame:
    """The file's DataFrame; an .h5 is decoded without pickle (pose3d.io.pandas_hdf)."""
    try:
        table = _read_csv(path) if path.suffix.lower() == ".csv" else read_frame(path, H5_KEY)
    except Pose3dError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise Pose3dError(
            f"{path} cannot be read as a DeepLabCut table ({type(exc).__name__}: {exc}); the "
            "file is damaged or not DeepLabCut's; export it again from DeepLabCut"
        ) from None
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise Pose3dError(f"{path}: the DeepLabCut table is empty; nothing to import")
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    """DeepLabCut's csv: header rows scorer/[individuals]/bodyparts/coords, 1 or 3 index columns."""
    with open(path, encoding="utf-8") as fh:
        head = [fh.readline().rstrip("\r\n").split(",") for _ in range(4)]
    n_header = sum(1 for row in head if row[0] in _HEADER_NAMES)
    n_index = next((j for j, cell in enumerate(head[0][1:], 1) if cell), 1)
    table = pd.read_csv(
        path, header=list(range(n_header)), index_col=list(range(n_index)), encoding="utf-8"
    )
    if n_header == 3:
        table.columns = table.columns.set_names(["scorer", "bodyparts", "coords"])
    _check_numbers(table, path)
    return table


def _check_numbers(table: pd.DataFrame, path: Path) -> None:
    """Raise naming the first cell that is not a number (pandas keeps such a column as text)."""
    for j, column in enumerate(table.columns):
        cells = table.iloc[:, j]
        if cells.dtype.kind in "fiu":
            continue
        numbers = pd.to_numeric(cells, errors="coerce") if cells.dtype.kind != "b" else None
        bad = cells.notna() if numbers is None else numbers.isna() & cells.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            name = column if isinstance(column, tuple) else (column,)
            raise Pose3dError(
                f"{path}: row {table.index[i]!r} (data row {i + 1}), column "
                f"({', '.join(map(str, name))}) holds {cells.iloc[i]!r}, which is not a number; "
                "expected a coordinate in pixels (e.g. 12.5, no unit) or an empty cell"
            )
        table.isetitem(j, numbers)


def _parts(row: object) -> tuple[str, ...]:
    if isinstance(row, tuple):
        return tuple(str(p) for p in row)
    return tuple(re.split(r"[\\/]", str(row)))


def _frame_number(row: object, path: Path) -> int:
    if isinstance(row, (int, np.integer)):
        frame, name = int(row), str(row)
    else:
        name = _parts(row)[-1]
        match = _DIGITS.search(Path(name).stem)
        if match is None:
            raise Pose3dError(
                f"{path}: image {name!r} has no frame number; expected names like img0042.png "
                "(the last digits are the video frame)"
            )
        digits = match.group(1).lstrip("0") or "0"
        frame = int(digits) if len(digits) <= _MAX_FRAME_DIGITS else 10**_MAX_FRAME_DIGITS
    if abs(frame) >= 10**_MAX_FRAME_DIGITS:
        raise Pose3dError(f"{path}: row {name!r} names frame {frame}; no video is that long")
    return frame


def _check_one_video(index: pd.Index, path: Path) -> None:
    videos = {_parts(row)[-2] for row in index if len(_parts(row)) >= 2}
    if len(videos) > 1:
        raise Pose3dError(
            f"{path} holds images of several videos ({', '.join(sorted(videos))}); import "
            "the CollectedData file of each labeled-data/<video> folder into its own view"
        )


def export_dlc(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write ``out/labeled-data/<video>/`` for each view with manual points of ``data.labels``
    (module docstring); frames are read from the session's videos. Every file and folder name
    made from data (video names, the scorer) is one safe component that stays in ``out``."""
    scorer = file_name(options.get("scorer", DEFAULT_SCORER), "scorer")
    session, labels = data.session, data.labels
    assert session is not None and labels is not None  # the format needs them: formats.export
    manual = labels[s.SOURCE] == s.PointSource.MANUAL  # (T, V, K, I)
    folders = _video_folders(session)
    written: list[Path] = []
    plans = []
    for view in session.camera_names:
        if view not in labels[s.VIEW].values:
            continue
        times = labels[s.TIME].values[manual.sel({s.VIEW: view}).any((s.KEYPOINT, s.INDIVIDUAL))]
        if times.size:
            name = file_name(folders[view], f"video name of camera {view}")
            folder = inside(out, out / "labeled-data" / name)
            if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
                raise Pose3dError(
                    f"{folder} already exists and is not empty; export into a new folder"
                )
            plans.append((view, times, folder))
    if not plans:
        raise Pose3dError(f"{session.paths.labels} holds no manual points; nothing to export")
    for view, times, folder in plans:
        written += _export_view(session, labels, view, times, folder, scorer)
    return written


def _video_folders(session: Session) -> dict[str, str]:
    """labeled-data folder of each view: its video's stem (DeepLabCut's name), prefixed with the
    camera when two videos share a stem (made a safe file name where it is used)."""
    stems = {c.name: Path(c.video).stem for c in session.cameras}
    repeated = {v for v in stems.values() if list(stems.values()).count(v) > 1}
    return {c: f"{c}_{stem}" if stem in repeated else stem for c, stem in stems.items()}


def _export_view(
    session: Session,
    labels: xr.Dataset,
    view: str,
    times: np.ndarray,
    folder: Path,
    scorer: str,
) -> list[Path]:
    from pose3d.io.video_reading import VideoReader

    frames = [t - session.camera(view).offset for t in times.tolist()]
    sel = labels.sel({s.VIEW: view, s.TIME: times})
    is_manual = sel[s.SOURCE] == s.PointSource.MANUAL
    position = sel[s.POSITION].where(is_manual)  # (T, space, K, I); non-manual -> NaN
    with VideoReader(session.video_path(view)) as reader:
        n = reader.n_frames
        outside = [f for f in frames if not 0 <= f < n]
        if outside:
            raise Pose3dError(
                f"view {view} has manual points on camera frames {outside[:10]} outside its "
                f"video {session.video_path(view)} (frames 0-{n - 1}); check the camera's offset"
            )
        width = max(1, math.ceil(math.log10(max(n, 2))))  # DeepLabCut's zero padding
        names = [f"img{f:0{width}d}.png" for f in frames]
        folder.mkdir(parents=True, exist_ok=True)
        _write_pngs(reader, frames, [folder / name for name in names])
    written = [folder / name for name in names]
    table = _collected_table(position, folder.name, names, scorer)
    h5 = inside(folder, folder / f"CollectedData_{scorer}.h5")
    with atomic_path(h5) as tmp:
        table.to_hdf(tmp, key=H5_KEY, mode="w")
    csv = inside(folder, folder / f"CollectedData_{scorer}.csv")
    with atomic_path(csv) as tmp:
        table.to_csv(tmp)
    return [*written, h5, csv]


def _write_pngs(reader: VideoReader, frames: list[int], paths: list[Path]) -> None:
    """Decode ``frames`` in order; encode and write them as PNG on worker threads (cv2 releases
    the GIL), at most 2 per worker in flight."""
    import os
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[None]] = deque()
        for frame, path in zip(frames, paths, strict=True):
            pending.append(pool.submit(_write_png, reader.read(frame), path))
            if len(pending) >= 2 * workers:
                pending.popleft().result()
        for job in pending:
            job.result()


def _write_png(frame: NDArray[np.uint8], path: Path) -> None:
    """Write an RGB uint8 frame (H, W, 3) as a PNG, atomically."""
    import cv2

    ok, png = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if not ok:
        raise Pose3dError(f"cannot encode {path.name} as PNG")
    atomic_write_bytes(path, png.tobytes())


def _collected_table(
    position: xr.DataArray, video: str, names: list[str], scorer: str
) -> pd.DataFrame:
    keypoints = [str(k) for k in position[s.KEYPOINT].values]
    individuals = [str(i) for i in position[s.INDIVIDUAL].values]
    values = position.transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
    if len(individuals) == 1:
        levels = [[scorer], keypoints, ["x", "y"]]
        level_names = ["scorer", "bodyparts", "coords"]
    else:
        levels = [[scorer], individuals, keypoints, ["x", "y"]]
        level_names = list(_HEADER_NAMES)
    columns = pd.MultiIndex.from_product(levels, names=level_names)
    index = pd.MultiIndex.from_tuples([("labeled-data", video, n) for n in names])
    return pd.DataFrame(values.reshape(len(names), -1), index=index, columns=columns)


def export_dlc_h5(data: ExportData, out: Path, options: Mapping[str, str]) -> list[Path]:
    """Write DeepLabCut's 3D h5 of the poses to the file ``out`` (all individuals; option
    ``individual`` selects one), a part at a time."""
    write_dlc_3d_h5(data.poses_by_part(), out, options.get("individual"))
    return [out]


def write_dlc_3d_h5(
    poses: xr.Dataset | Iterable[xr.Dataset], path: Path, individual: str | None = None
) -> None:
    """Write DeepLabCut's 3D h5 of ``poses`` (all individuals; ``individual`` selects one);
    ``poses``: a dataset, or consecutive stretches of time of one (a long recording: each is
    appended to the table, so memory does not grow with the recording)."""
    try:
        import tables  # noqa: F401  (pandas needs PyTables for HDF5)
    except ImportError:
        raise Pose3dError(
            "writing DeepLabCut .h5 needs PyTables; install it with `pip install tables`"
        ) from None
    parts = [poses] if isinstance(poses, xr.Dataset) else poses
    rows = 0
    with atomic_path(path) as tmp:
        for part in parts:
            if individual is not None:
                part = part.sel({s.INDIVIDUAL: [one_individual(part, individual)]})
            frame = dlc_3d_table(part, first_row=rows)
            frame.to_hdf(tmp, key=H5_KEY, mode="a" if rows else "w", format="table", append=True)
            rows += len(frame)
        if rows == 0:
            raise Pose3dError("no poses to write: the poses hold no frame")


def dlc_3d_table(poses: xr.Dataset, first_row: int = 0) -> pd.DataFrame:
    """DeepLabCut's 3D DataFrame of ``poses``: one row per frame (module docstring), the rows
    numbered from ``first_row`` (a part of a longer recording)."""
    position = poses[s.POSITION].transpose(s.TIME, s.INDIVIDUAL, s.KEYPOINT, s.SPACE).values
    n_time, n_ind = position.shape[:2]
    keypoints = [str(k) for k in poses[s.KEYPOINT].values]
    individuals = [str(i) for i in poses[s.INDIVIDUAL].values]
    if n_ind == 1:
        levels = [[DEFAULT_SCORER], keypoints, list(s.SPACE_3D)]
        names = ["scorer", "bodyparts", "coords"]
    else:
        levels = [[DEFAULT_SCORER], individuals, keypoints, list(s.SPACE_3D)]
        names = list(_HEADER_NAMES)
    columns = pd.MultiIndex.from_product(levels, names=names)
    index = np.arange(first_row, first_row + n_time)
    return pd.DataFrame(position.reshape(n_time, -1), columns=columns, index=index)
