"""DataFrames that pandas wrote with ``to_hdf`` (HDFStore), read with h5py and without pickle.

pandas and PyTables pickle what HDF5 cannot hold as plain data (an object-dtype index becomes a
pickled VLArray; PyTables pickles list, tuple and dict attributes) and unpickle it again on read:
``pd.read_hdf`` of a crafted file runs the code its pickles name. A file from elsewhere is
therefore decoded here, from the HDF5 layout pandas writes (key = a top-level group whose
``pandas_type`` attribute names the layout):

- ``frame`` (pandas' default "fixed" format): columns are the index ``axis0``, rows ``axis1``;
  values are ``block<i>_values`` (rows, items; ``transposed`` attribute) whose columns are the
  index ``block<i>_items``. An index is one dataset (``<key>_variety = "regular"``) or, for a
  MultiIndex (``"multi"``), ``<key>_level<j>`` (values) and ``<key>_label<j>`` (codes); each
  values dataset says its ``kind``: ``string`` (UTF-8 bytes) or ``integer`` are read; anything
  else (``object`` = pickled) is refused, never loaded.
- ``frame_table`` (``format="table"``, DeepLabCut's CollectedData and predictions): one compound
  dataset ``table`` with the row index (field ``index``, kind ``index_kind``) and one field per
  values block. Its column labels exist only as PyTables-pickled attributes (``non_index_axes``,
  ``<block>_kind``, ``info``): those are loaded by :func:`plain_unpickle`, which refuses every
  global (no class, no function, so no code can run) and then accepts only str, numbers,
  tuples, lists and dicts of the expected shape.

:func:`read_frame` returns the DataFrame pandas would return for the layouts it accepts; values
must be numbers (a DataFrame of coordinates).
"""

from __future__ import annotations

import codecs
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.io.hdf5_reading import ForeignHDF5Error, member, open_file

if TYPE_CHECKING:
    import h5py

PICKLED = (
    "pose3d never runs a pickle from a file (it could run any code); save the table again with "
    "text or number labels (e.g. from DeepLabCut) or export it as .csv"
)
_MAX_PICKLE_BYTES = 2**24  # PyTables attributes of a coordinate table are a few kB
_NONE = b"N."  # PyTables' pickle of None (an index without a name)
Label = str | int | float | tuple[str | int | float | None, ...]


class _Refused(ValueError):
    """What is wrong with the layout (the caller adds the file)."""


@dataclass(frozen=True)
class _Index:
    labels: list[Label]
    names: list[str | None]


def pandas_keys(fh: h5py.File) -> list[str]:
    """The top-level groups of ``fh`` that hold a pandas object, in name order."""
    import h5py

    keys = []
    for key in fh:
        if isinstance(fh.get(key, getlink=True), h5py.HardLink):
            obj = fh[key]
            if isinstance(obj, h5py.Group) and "pandas_type" in obj.attrs:
                keys.append(key)
    return keys


def read_frame(path: Path, prefer: str) -> pd.DataFrame:
    """The DataFrame stored under ``prefer`` in ``path`` (else under its first pandas key),
    decoded without pickle (module docstring). Raises Pose3dError naming the file."""
    try:
        with open_file(path) as fh:
            keys = pandas_keys(fh)
            if not keys:
                raise _Refused("it holds no pandas table")
            key = prefer if prefer in keys else keys[0]
            group = member(fh, key, "group")
            return _frame(group)
    except (_Refused, ForeignHDF5Error) as exc:
        raise Pose3dError(f"{path}: {exc}") from None


def _frame(group: h5py.Group) -> pd.DataFrame:
    kind = _text(group.attrs, "pandas_type")
    if kind == "frame":
        return _fixed_frame(group)
    if kind == "frame_table":
        return _table_frame(group)
    raise _Refused(
        f"its table {group.name} is a pandas {kind!r}, expected a DataFrame ('frame' or "
        "'frame_table')"
    )


# --- attributes --------------------------------------------------------------------------------


def _text(attrs: Any, name: str, default: str | None = None) -> str:
    """A plain string attribute (PyTables stores str as bytes)."""
    import h5py

    if name not in attrs:
        if default is None:
            raise _Refused(f"attribute {name} is missing")
        return default
    value = attrs[name]
    if isinstance(value, h5py.Empty):
        return ""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(f"attribute {name} is not UTF-8 text") from None
    if isinstance(value, str):
        return value
    raise _Refused(f"attribute {name} is {type(value).__name__}, expected text")


def _integer(attrs: Any, name: str) -> int:
    value = attrs.get(name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise _Refused(f"attribute {name} is {value!r}, expected an integer")
    return int(value)


def _encoding(group: h5py.Group) -> str:
    name = _text(group.attrs, "encoding", "UTF-8")
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise _Refused(f"its text encoding {name!r} is unknown") from None


class _PlainUnpickler(pickle.Unpickler):
    """Builds only what pickle's own opcodes build (str, bytes, numbers, None, bool, tuple,
    list, dict, set): every class or function a pickle names is refused before it is looked up,
    so nothing can be called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"names {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refers to an outside object (a persistent id)")


def plain_unpickle(data: bytes, what: str) -> Any:
    """``data`` unpickled by `_PlainUnpickler` (no global is ever looked up); _Refused naming
    ``what`` otherwise."""
    if len(data) > _MAX_PICKLE_BYTES:
        raise _Refused(f"{what} is {len(data)} bytes, more than a table's labels take")
    try:
        return _PlainUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        raise _Refused(f"{what} is a pickle that {exc}; {PICKLED}") from None
    except Exception as exc:
        raise _Refused(f"{what} is not a readable list of labels ({type(exc).__name__})") from None


def _pickled_attr(attrs: Any, name: str) -> Any:
    value = attrs.get(name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if not isinstance(value, bytes):
        raise _Refused(f"attribute {name} is missing or not PyTables' list of labels")
    return plain_unpickle(value, f"attribute {name}")


def _label(value: Any, what: str) -> Label:
    """A column or row label: a str / number, or a tuple of them (one per level)."""
    scalar = (str, int, float)
    if isinstance(value, scalar) and not isinstance(value, bool):
        return value
    if isinstance(value, tuple) and all(
        (isinstance(v, scalar) and not isinstance(v, bool)) or v is None for v in value
    ):
        return value
    raise _Refused(f"{what} holds a label of type {type(value).__name__}, expected text")


def _labels(value: Any, what: str) -> list[Label]:
    if not isinstance(value, list):
        raise _Refused(f"{what} is a {type(value).__name__}, expected a list of labels")
    return [_label(v, what) for v in value]


# --- fixed format ("frame") ------------------------------------------------------------------


def _fixed_frame(group: h5py.Group) -> pd.DataFrame:
    encoding = _encoding(group)
    if _integer(group.attrs, "ndim") != 2:
        raise _Refused("its table is not 2-dimensional")
    columns = _fixed_index(group, "axis0", encoding)
    rows = _fixed_index(group, "axis1", encoding)
    position = _positions(columns.labels, "its columns")
    values = np.full((len(rows.labels), len(columns.labels)), np.nan)
    covered = np.zeros(len(columns.labels), bool)
    for b in range(_integer(group.attrs, "nblocks")):
        items = _fixed_index(group, f"block{b}_items", encoding).labels
        block = _block(group, f"block{b}_values")
        if block.shape != (len(rows.labels), len(items)):
            raise _Refused(
                f"block{b}_values has shape {block.shape}, expected ({len(rows.labels)} rows, "
                f"{len(items)} columns)"
            )
        for j, item in enumerate(items):
            col = position.get(item)
            if col is None or covered[col]:
                raise _Refused(f"block{b}_items names column {item!r} that axis0 does not")
            values[:, col], covered[col] = block[:, j], True
    if not covered.all():
        raise _Refused("some columns have no values")
    return _dataframe(values, rows, columns)


def _fixed_index(group: h5py.Group, key: str, encoding: str) -> _Index:
    variety = _text(group.attrs, f"{key}_variety")
    if variety == "regular":
        values, name = _index_values(group, key, encoding)
        return _Index(list(values), [name])
    if variety != "multi":
        raise _Refused(f"its {_axis(key)} is of variety {variety!r}, expected regular or multi")
    levels, names, codes = [], [], []
    for j in range(_integer(group.attrs, f"{key}_nlevels")):
        values, name = _index_values(group, f"{key}_level{j}", encoding)
        code = member(group, f"{key}_label{j}")
        if code.dtype.kind not in "iu" or code.ndim != 1:
            raise _Refused(f"{key}_label{j} is not a list of integer codes")
        code = code[()].astype(np.int64)
        if code.size and (code.min() < 0 or code.max() >= len(values)):
            raise _Refused(f"{key}_label{j} has codes outside its {len(values)} level values")
        levels.append(values)
        names.append(name)
        codes.append(code)
    if not codes or len({len(c) for c in codes}) != 1:
        raise _Refused(f"the levels of index {key} have different lengths")
    labels: list[Label] = [
        tuple(level[c] for level, c in zip(levels, row, strict=True))
        for row in zip(*(c.tolist() for c in codes), strict=True)
    ]
    return _Index(labels, names)


def _index_values(group: h5py.Group, name: str, encoding: str) -> tuple[list[Any], str | None]:
    """The values of one index dataset (kind ``string`` or ``integer``) and its name."""
    ds = member(group, name)
    kind = _text(ds.attrs, "kind")
    label_name = _name(ds.attrs)
    if kind == "string" and ds.dtype.kind == "S" and ds.ndim == 1:
        try:
            return [v.decode(encoding) for v in ds[()].tolist()], label_name
        except UnicodeDecodeError:
            raise _Refused(f"{name} holds text that is not {encoding}") from None
    if kind == "integer" and ds.dtype.kind in "iu" and ds.ndim == 1:
        return [int(v) for v in ds[()].tolist()], label_name
    if kind == "object" or ds.dtype.kind in "OV":
        raise _Refused(
            f"its {_axis(name)} is stored as a pickle (a pandas object index); {PICKLED}"
        )
    raise _Refused(f"its {_axis(name)} is of kind {kind!r} ({ds.dtype}), expected text or integers")


def _axis(name: str) -> str:
    """What an index dataset of the fixed layout labels, for messages."""
    return f"row index ({name})" if name.startswith("axis1") else f"column labels ({name})"


def _name(attrs: Any) -> str | None:
    """An index's name: PyTables pickles None as b'N.'; any other value is taken as plain text,
    never unpickled."""
    raw = attrs.get("name")
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw[()]
    if raw is None or raw == _NONE:
        return None
    return _text(attrs, "name")


# --- table format ("frame_table") ------------------------------------------------------------


def _table_frame(group: h5py.Group) -> pd.DataFrame:
    encoding = _encoding(group)
    table_type = _text(group.attrs, "table_type")
    if table_type != "appendable_frame":
        raise _Refused(
            f"its table is of type {table_type!r}, expected 'appendable_frame' (one row index)"
        )
    axes = _pickled_attr(group.attrs, "non_index_axes")
    if not (isinstance(axes, list) and len(axes) == 1 and isinstance(axes[0], tuple)):
        raise _Refused("attribute non_index_axes is not [(1, [column labels])]")
    if len(axes[0]) != 2 or axes[0][0] != 1:
        raise _Refused("attribute non_index_axes is not [(1, [column labels])]")
    columns = _labels(axes[0][1], "attribute non_index_axes")
    names = _column_names(group.attrs)
    ds = member(group, "table")
    fields = ds.dtype.names or ()
    if "index" not in fields:
        raise _Refused("its table has no index column")
    data = ds[()]
    rows = _table_rows(data["index"], _text(ds.attrs, "index_kind"), encoding)
    position = _positions(columns, "attribute non_index_axes")
    values = np.full((len(rows), len(columns)), np.nan)
    covered = np.zeros(len(columns), bool)
    for field in fields:
        if field == "index":
            continue
        items = _labels(_pickled_attr(ds.attrs, f"{field}_kind"), f"attribute {field}_kind")
        block = np.asarray(data[field])
        if block.dtype.kind not in "fiu":
            raise _Refused(f"column block {field} holds {block.dtype}, expected numbers")
        block = block.reshape(len(rows), -1)
        if block.shape[1] != len(items):
            raise _Refused(f"column block {field} has {block.shape[1]} columns for {len(items)}")
        for j, item in enumerate(items):
            col = position.get(item)
            if col is None or covered[col]:
                raise _Refused(f"{field} names column {item!r} that non_index_axes does not")
            values[:, col], covered[col] = block[:, j], True
    if not covered.all():
        raise _Refused("some columns have no values")
    return _dataframe(values, _Index(list(rows), [None]), _Index(columns, names))


def _column_names(attrs: Any) -> list[str | None]:
    """The columns' level names, from PyTables' pickled ``info`` dict ({1: {"names": [...]}})."""
    if "info" not in attrs:
        return [None]
    info = _pickled_attr(attrs, "info")
    axis = info.get(1) if isinstance(info, dict) else None
    names = axis.get("names") if isinstance(axis, dict) else None
    if names is None:
        return [None]
    if not isinstance(names, list) or not all(n is None or isinstance(n, str) for n in names):
        raise _Refused("attribute info holds column names that are not text")
    return names


def _table_rows(index: NDArray[Any], kind: str, encoding: str) -> list[str] | list[int]:
    if kind == "string" and index.dtype.kind == "S":
        try:
            return [v.decode(encoding) for v in index.tolist()]
        except UnicodeDecodeError:
            raise _Refused(f"its row index holds text that is not {encoding}") from None
    if kind == "integer" and index.dtype.kind in "iu":
        return [int(v) for v in index.tolist()]
    raise _Refused(f"its row index is of kind {kind!r} ({index.dtype}), expected text or integers")


# --- shared ----------------------------------------------------------------------------------


def _block(group: h5py.Group, name: str) -> NDArray[np.float64]:
    """A values block as (rows, items): pandas stores it transposed (attribute ``transposed``)."""
    ds = member(group, name)
    if ds.dtype.kind not in "fiu" or ds.ndim != 2:
        pickled = ds.dtype.kind in "OV"
        raise _Refused(
            f"{name} holds {ds.dtype} {ds.shape}, expected a 2-D array of numbers"
            + (f" (it is stored as a pickle; {PICKLED})" if pickled else "")
        )
    values = np.asarray(ds[()], dtype=np.float64)
    return values if bool(np.all(ds.attrs.get("transposed", False))) else values.T


def _positions(labels: list[Label], what: str) -> dict[Label, int]:
    position = {label: j for j, label in enumerate(labels)}
    if len(position) != len(labels):
        raise _Refused(f"{what} name a column twice")
    return position


def _dataframe(values: NDArray[np.float64], rows: _Index, columns: _Index) -> pd.DataFrame:
    try:
        return pd.DataFrame(values, index=_pandas_index(rows), columns=_pandas_index(columns))
    except (TypeError, ValueError) as exc:
        raise _Refused(f"its labels do not form a table ({exc})") from None


def _pandas_index(index: _Index) -> pd.Index:
    if index.labels and all(isinstance(v, tuple) for v in index.labels):
        widths = {len(v) for v in index.labels if isinstance(v, tuple)}
        if len(widths) != 1:
            raise _Refused("its labels have different numbers of levels")
        names = index.names if len(index.names) == widths.pop() else None
        return pd.MultiIndex.from_tuples(index.labels, names=names)
    if any(isinstance(v, tuple) for v in index.labels):
        raise _Refused("its labels mix tuples and single values")
    return pd.Index(index.labels, name=index.names[0] if len(index.names) == 1 else None)
