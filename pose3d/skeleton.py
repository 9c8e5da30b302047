"""Skeleton: the named keypoints of a subject and the edges (bones) between them."""

from __future__ import annotations

import reprlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pose3d.errors import Pose3dError, shown


@dataclass(frozen=True)
class Skeleton:
    """Keypoint names (order = the ``keypoint`` coordinate) and edges between them.

    >>> Skeleton(("nose", "tail"), (("nose", "tail"),)).edge_indices
    ((0, 1),)
    """

    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.keypoints, str):  # would be one keypoint per letter
            raise Pose3dError(f"keypoints must be a list of names, got {self.keypoints!r}")
        not_names = [k for k in self.keypoints if not isinstance(k, str)]
        if not_names:
            raise Pose3dError(
                f"keypoint names must be strings; got {not_names[0]!r} among "
                f"{reprlib.repr(list(self.keypoints))}"
            )
        object.__setattr__(self, "keypoints", tuple(str(k) for k in self.keypoints))
        for edge in self.edges:
            _check_edge(edge)
        object.__setattr__(self, "edges", tuple((str(a), str(b)) for a, b in self.edges))
        if not self.keypoints:
            raise Pose3dError("a skeleton needs at least one keypoint; none were given")
        blank = [k for k in self.keypoints if not k.strip()]
        if blank:
            raise Pose3dError("keypoint names must not be empty")
        dupes = [k for k, n in Counter(self.keypoints).items() if n > 1]
        if dupes:
            raise Pose3dError(f"keypoint names must be unique; repeated: {', '.join(dupes)}")
        known = set(self.keypoints)
        for a, b in self.edges:
            unknown = [k for k in (a, b) if k not in known]
            if unknown:
                raise Pose3dError(
                    f"edge {shown(a)}-{shown(b)} names unknown keypoint(s) "
                    f"{', '.join(shown(u) for u in unknown)}; keypoints are: "
                    f"{', '.join(shown(k) for k in self.keypoints)}"
                )
            if a == b:
                raise Pose3dError(f"edge {shown(a)}-{shown(b)} joins a keypoint to itself")

    @classmethod
    def from_lists(cls, keypoints: Sequence[str], edges: Iterable[Sequence[str]] = ()) -> Skeleton:
        """Build from plain lists, e.g. as read from TOML (edges as 2-item lists)."""
        if isinstance(keypoints, str):  # would be one keypoint per letter
            raise Pose3dError(f"keypoints must be a list of names, got {keypoints!r}")
        if isinstance(edges, str) or not isinstance(edges, Iterable):
            raise Pose3dError(
                f'edges must be a list of keypoint pairs, e.g. [["nose", "neck"]]; got {edges!r}'
            )
        pairs = []
        for edge in edges:
            _check_edge(edge)
            pairs.append((edge[0], edge[1]))
        return cls(tuple(keypoints), tuple(pairs))

    @property
    def edge_indices(self) -> tuple[tuple[int, int], ...]:
        index = {name: i for i, name in enumerate(self.keypoints)}
        return tuple((index[a], index[b]) for a, b in self.edges)

    def index(self, keypoint: str) -> int:
        try:
            return self.keypoints.index(keypoint)
        except ValueError:
            raise Pose3dError(
                f"unknown keypoint {keypoint!r}; keypoints are: {', '.join(self.keypoints)}"
            ) from None


def _check_edge(edge: object) -> None:
    """An edge is two keypoint names, e.g. ``("nose", "neck")``."""
    if isinstance(edge, str) or not isinstance(edge, Sequence) or len(edge) != 2:
        shown = list(edge) if isinstance(edge, Sequence) and not isinstance(edge, str) else edge
        raise Pose3dError(
            f"an edge joins two keypoints; got {shown!r} (an edge is e.g. ['nose', 'neck'])"
        )
    if not all(isinstance(k, str) for k in edge):
        raise Pose3dError(f"an edge joins two keypoint names (strings); got {list(edge)!r}")
