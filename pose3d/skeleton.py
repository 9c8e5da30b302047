"""Skeleton: the named keypoints of a subject and the edges (bones) between them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pose3d.errors import Pose3dError


@dataclass(frozen=True)
class Skeleton:
    """Keypoint names (order = the ``keypoint`` coordinate) and edges between them.

    >>> Skeleton(("nose", "tail"), (("nose", "tail"),)).edge_indices
    ((0, 1),)
    """

    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keypoints", tuple(str(k) for k in self.keypoints))
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
                    f"edge {a}-{b} names unknown keypoint(s) {', '.join(unknown)}; "
                    f"keypoints are: {', '.join(self.keypoints)}"
                )
            if a == b:
                raise Pose3dError(f"edge {a}-{b} joins a keypoint to itself")

    @classmethod
    def from_lists(cls, keypoints: Sequence[str], edges: Iterable[Sequence[str]] = ()) -> Skeleton:
        """Build from plain lists, e.g. as read from TOML (edges as 2-item lists)."""
        pairs = []
        for edge in edges:
            if len(edge) != 2:
                raise Pose3dError(f"an edge joins two keypoints; got {list(edge)!r}")
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
