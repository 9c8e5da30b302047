"""Cells of a labels dataset: one point ``(frame, view, keypoint, individual)`` addressed once.

A *cell* is what a labelling edit changes and what the edit journal records: every variable of
labels.nc that has a ``time`` dim, at one session frame, view, keypoint and individual
(``position`` holds two values there, x and y; the others one). The label editor
(pose3d.tui.state.editor), the journal replay (pose3d.io.label_journal) and the merge policy
(pose3d.labels) all address cells through :class:`CellIndex`, so a name that is not in the
labels gets the same message everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from pose3d import schema as s
from pose3d.errors import Pose3dError, shown

CELL_DIMS = (s.TIME, s.VIEW, s.KEYPOINT, s.INDIVIDUAL)
CellState = dict[str, Any]  # variable name -> the cell's value (position: array of 2)
Index = tuple[int, int, int, int]  # (t, v, k, i) array positions


@dataclass(frozen=True)
class Cell:
    """One point of the labels: session frame, view, keypoint and individual (names)."""

    frame: int
    view: str
    keypoint: str
    individual: str


def _key(value: Any) -> Any:
    """Coordinate values compare as Python ints or strings."""
    if isinstance(value, np.generic):
        value = value.item()
    return str(value) if isinstance(value, str | bytes) else int(value)


class CellIndex:
    """Array positions of cells in one labels dataset (its coordinates read once)."""

    def __init__(self, labels: xr.Dataset) -> None:
        self._positions = {
            dim: {_key(v): j for j, v in enumerate(labels[dim].values)} for dim in CELL_DIMS
        }
        time = labels[s.TIME].values
        self.first_frame, self.n_frames = int(time[0]), len(time)

    def __call__(self, cell: Cell) -> Index:
        """``(t, v, k, i)`` of ``cell``; raises Pose3dError naming what is not in the labels."""
        t = self._positions[s.TIME].get(_key(cell.frame))
        if t is None:
            raise Pose3dError(
                f"frame {cell.frame} is outside the labels, which cover session frames "
                f"{self.first_frame}-{self.first_frame + self.n_frames - 1}"
            )
        return (
            t,
            self._find(s.VIEW, cell.view),
            self._find(s.KEYPOINT, cell.keypoint),
            self._find(s.INDIVIDUAL, cell.individual),
        )

    def _find(self, dim: str, name: str) -> int:
        j = self._positions[dim].get(_key(name))
        if j is None:
            known = ", ".join(shown(n) for n in self._positions[dim])
            raise Pose3dError(f"unknown {dim} {shown(repr(name))}; known: {known}")
        return j


def at(labels: xr.Dataset, name: str, index: Index) -> tuple[Any, ...]:
    """The numpy index of a cell in variable ``name`` (``position`` gets its x, y slice)."""
    t, v, k, i = index
    return (t, v, slice(None), k, i) if s.SPACE in labels[name].dims else (t, v, k, i)


def cell_variables(labels: xr.Dataset) -> list[str]:
    """The variables a cell holds: every one with a ``time`` dim."""
    return [str(name) for name, da in labels.data_vars.items() if s.TIME in da.dims]


def read_cell(labels: xr.Dataset, index: Index) -> CellState:
    """Every variable's value at a cell (copies)."""
    state: CellState = {}
    for name in cell_variables(labels):
        value = labels[name].values[at(labels, name, index)]
        state[name] = value.copy() if isinstance(value, np.ndarray) else value
    return state


def with_hidden(labels: xr.Dataset) -> xr.Dataset:
    """``labels`` with the ``hidden`` variable (pose3d.schema.HIDDEN) added as all False where it
    is missing (labels written before pose3d knew hidden marks); ``labels`` itself, unchanged,
    when it has one or lacks a cell dim (what is wrong there is the validators' business)."""
    if s.HIDDEN in labels.data_vars or any(dim not in labels.sizes for dim in CELL_DIMS):
        return labels
    shape = tuple(labels.sizes[dim] for dim in CELL_DIMS)
    return labels.assign({s.HIDDEN: (s.MARK_DIMS[s.HIDDEN], np.zeros(shape, bool))})
