"""A rodent-like synthetic subject: a skeleton of 12 keypoints on a body of ellipsoids.

The body follows a smooth closed wobbly loop around the arena (follow-the-leader: each spine node
lies on the path a fixed arc length behind the neck, so the body bends through turns), with head
turns and nods, a trotting gait (diagonal paws in phase, lifted while they swing forward), a
wagging tail and a slight bob. Lengths are in mm; nose to tail tip is about 230 mm.

Keypoint definition: every keypoint is the centre of its own small primitive, which moves
rigidly with the body part it sits on, so the keypoint stays on the same patch of textured
surface, as a point a labeller clicks on the fur does: the nose, ears, paws and tail points are
small spheres or ellipsoids; neck, spine_mid and tail_base are marker spheres on the top of the
three trunk ellipsoids, fixed in the trunk's own frame (not the trunk centres, whose projection
slides over the skin as the trunk turns). No keypoint lies inside another primitive of its body.
A keypoint is visible in a camera iff it is in that camera's field of view and the first surface
on the ray from the camera towards it belongs to its own primitive (see
``pose3d.synthetic.truth``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pose3d.errors import Pose3dError
from pose3d.skeleton import Skeleton
from pose3d.synthetic.raycast import Ellipsoids
from pose3d.synthetic.textures import SkinPattern

FloatArray = NDArray[np.float64]
Node = Callable[[float], tuple[FloatArray, FloatArray]]  # arc offset -> (xy [T, 2], dir [T, 2])

KEYPOINTS = (
    "nose", "ear_left", "ear_right", "neck", "spine_mid", "tail_base", "tail_mid", "tail_tip",
    "paw_front_left", "paw_front_right", "paw_back_left", "paw_back_right",
)  # fmt: skip
EDGES = (
    ("nose", "ear_left"), ("nose", "ear_right"), ("ear_left", "neck"), ("ear_right", "neck"),
    ("neck", "spine_mid"), ("spine_mid", "tail_base"), ("tail_base", "tail_mid"),
    ("tail_mid", "tail_tip"), ("neck", "paw_front_left"), ("neck", "paw_front_right"),
    ("tail_base", "paw_back_left"), ("tail_base", "paw_back_right"),
)  # fmt: skip

# Primitive table: name, keypoint it carries ("" for none), colour role.
PARTS = (
    ("head", "", "body"), ("nose", "nose", "skin"), ("ear_left", "ear_left", "skin"),
    ("ear_right", "ear_right", "skin"), ("shoulders", "", "body"), ("back", "", "body"),
    ("rump", "", "body"),
    ("tail_mid", "tail_mid", "skin"), ("tail_tip", "tail_tip", "skin"),
    ("paw_front_left", "paw_front_left", "skin"), ("paw_front_right", "paw_front_right", "skin"),
    ("paw_back_left", "paw_back_left", "skin"), ("paw_back_right", "paw_back_right", "skin"),
    ("tail_1", "", "skin"), ("tail_2", "", "skin"), ("tail_3", "", "skin"),
    ("tail_4", "", "skin"), ("tail_5", "", "skin"),
    ("neck", "neck", "skin"), ("spine_mid", "spine_mid", "skin"),  # trunk markers (MARKERS)
    ("tail_base", "tail_base", "skin"),
)  # fmt: skip
N_PARTS = len(PARTS)
KEYPOINT_PART = tuple(next(i for i, p in enumerate(PARTS) if p[1] == k) for k in KEYPOINTS)

# Trunk ellipsoids on the spine nodes: arc length (mm) behind the path point the head follows,
# height and semi-axes; each carries the marker sphere of one keypoint on its top.
TRUNK = {"shoulders": (50.0, 30.0, (24.0, 19.0, 17.0)), "back": (88.0, 34.0, (30.0, 27.0, 23.0)),
         "rump": (126.0, 27.0, (26.0, 22.0, 19.0))}  # fmt: skip
# Trunk marker spheres: keypoint -> trunk part; the centre sits MARKER_LIFT above the trunk's
# top, in the trunk's frame, so the keypoint is just outside the trunk and moves with its skin.
MARKERS = {"neck": "shoulders", "spine_mid": "back", "tail_base": "rump"}
MARKER_RADIUS, MARKER_LIFT = 5.0, 1.0
TAIL_PROFILE = ((126.0, 144.0, 160.0, 180.0, 232.0), (27.0, 14.0, 8.0, 5.0, 3.5))  # arc, height
# Tail segments between the tail spheres: start and end arc length, radius.
TAIL_SEGMENTS = (
    (140.0, 162.0, 5.5),
    (162.0, 176.0, 5.0),
    (184.0, 200.0, 4.5),
    (200.0, 216.0, 4.0),
    (216.0, 227.0, 3.5),
)
TAIL_SPHERES = {"tail_mid": (180.0, 5.0), "tail_tip": (232.0, 3.5)}
# Head parts in the head frame (origin at the neck node, x towards the nose): centre, semi-axes.
HEAD_PARTS = {"head": ((27.0, 0.0, 2.0), (23.0, 14.0, 13.0)),
              "nose": ((52.0, 0.0, -2.0), (5.0, 5.0, 5.0)),
              "ear_left": ((22.0, 13.0, 14.0), (3.5, 7.0, 8.0)),
              "ear_right": ((22.0, -13.0, 14.0), (3.5, 7.0, 8.0))}  # fmt: skip
# Paws: attachment arc length, lateral offset (+ = left), gait phase offset.
PAWS = {"paw_front_left": (58.0, 22.0, 0.0), "paw_front_right": (58.0, -22.0, np.pi),
        "paw_back_left": (118.0, 25.0, np.pi), "paw_back_right": (118.0, -25.0, 0.0)}  # fmt: skip
PAW_RADIUS, PAW_LIFT, PAW_SWING, STRIDE = 6.0, 11.0, 14.0, 60.0
SKIN = np.array([0.90, 0.62, 0.62])
BODY_COLOURS = (np.array([0.52, 0.34, 0.20]), np.array([0.90, 0.88, 0.82]))
MAX_INDIVIDUALS = len(BODY_COLOURS)


def rodent_skeleton() -> Skeleton:
    return Skeleton(KEYPOINTS, EDGES)


@dataclass(frozen=True)
class Loop:
    """A closed smooth path ``p(tau) = c + R (cos s tau, sin s tau) + sum_k a_k (cos(m_k tau +
    phi_k), sin(m_k tau + psi_k))`` on the floor, 2 pi-periodic, travelled by arc length."""

    center: FloatArray  # [2]
    radius: float
    sense: float  # +1 counter-clockwise, -1 clockwise
    amplitudes: FloatArray  # [n]
    harmonics: FloatArray  # [n]
    phases: FloatArray  # [n, 2]

    def point(self, tau: FloatArray) -> FloatArray:
        """[..., 2]"""
        st = self.sense * tau
        base = self.radius * np.stack([np.cos(st), np.sin(st)], axis=-1)
        ang = tau[..., None] * self.harmonics + self.phases[:, 0]
        ang2 = tau[..., None] * self.harmonics + self.phases[:, 1]
        wobble = np.stack(
            [(self.amplitudes * np.cos(ang)).sum(-1), (self.amplitudes * np.sin(ang2)).sum(-1)], -1
        )
        return self.center + base + wobble

    def velocity(self, tau: FloatArray) -> FloatArray:
        """dp/dtau [..., 2]"""
        st = self.sense * tau
        base = self.radius * self.sense * np.stack([-np.sin(st), np.cos(st)], axis=-1)
        am = self.amplitudes * self.harmonics
        ang = tau[..., None] * self.harmonics + self.phases[:, 0]
        ang2 = tau[..., None] * self.harmonics + self.phases[:, 1]
        return base + np.stack([(-am * np.sin(ang)).sum(-1), (am * np.cos(ang2)).sum(-1)], -1)

    def arc_table(self, samples: int = 8192) -> tuple[FloatArray, FloatArray]:
        """Cumulative arc length over one period: (tau [samples + 1], s [samples + 1])."""
        tau = np.linspace(0.0, 2.0 * np.pi, samples + 1)
        speed = np.linalg.norm(self.velocity(tau), axis=-1)
        steps = (speed[1:] + speed[:-1]) / 2.0 * np.diff(tau)
        return tau, np.concatenate([[0.0], np.cumsum(steps)])


@dataclass(frozen=True)
class Walker:
    """One individual: its loop, speed profile, head, tail and gait rhythms, and its look."""

    loop: Loop
    start: float  # arc length at t = 0 (mm)
    speed: tuple[float, float, float, float]  # mean mm/s, relative amplitude, Hz, phase
    yaw: tuple[float, float, float, float, float, float]  # amp rad, Hz, phase, x2
    pitch: tuple[float, float, float]  # amp rad, Hz, phase
    wag: tuple[float, float, float]  # amp mm, Hz, phase
    body_colour: FloatArray  # [3]
    pattern: SkinPattern  # N_PARTS primitives

    @classmethod
    def random(cls, rng: np.random.Generator, index: int, center: FloatArray) -> Walker:
        radius = rng.uniform(210.0, 245.0) if index == 0 else rng.uniform(85.0, 100.0)
        wobble = 30.0 if index == 0 else 15.0
        harmonics = rng.choice([2.0, 3.0, 4.0, 5.0], size=3, replace=False)
        amplitudes = rng.dirichlet(np.ones(3)) * wobble * rng.uniform(0.6, 1.0)
        limit = 0.5 * radius / (np.sqrt(2.0) * float((amplitudes * harmonics).sum()))
        amplitudes *= min(1.0, limit)  # keep |dp/dtau| >= R / 2: no cusps
        loop = Loop(
            center,
            radius,
            float(rng.choice([-1.0, 1.0])),
            amplitudes,
            harmonics,
            rng.uniform(0.0, 2.0 * np.pi, (3, 2)),
        )
        mean_speed = rng.uniform(110.0, 170.0) if index == 0 else rng.uniform(70.0, 110.0)
        return cls(
            loop=loop,
            start=rng.uniform(0.0, 2.0 * np.pi * radius),
            speed=(mean_speed, rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3), rng.uniform(0, 6.3)),
            yaw=(
                rng.uniform(0.2, 0.35),
                rng.uniform(0.3, 0.7),
                rng.uniform(0, 6.3),
                rng.uniform(0.05, 0.15),
                rng.uniform(1.0, 2.0),
                rng.uniform(0, 6.3),
            ),
            pitch=(rng.uniform(0.1, 0.25), rng.uniform(0.2, 0.5), rng.uniform(0, 6.3)),
            wag=(rng.uniform(10.0, 25.0), rng.uniform(0.5, 1.2), rng.uniform(0, 6.3)),
            body_colour=BODY_COLOURS[index],
            pattern=_pattern(rng),
        )

    def travelled(self, times: FloatArray) -> FloatArray:
        """Arc length of the head's path point at ``times`` (s) [T]: the integral of
        ``v (1 + a sin(2 pi f t + phi))``."""
        mean, amp, freq, phase = self.speed
        w = 2.0 * np.pi * freq
        return self.start + mean * (times + amp * (np.cos(phase) - np.cos(w * times + phase)) / w)

    def parts(self, times: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Primitives at ``times`` [T]: centres [T, P, 3], axes [T, P, 3, 3], radii [T, P, 3]."""
        t = np.asarray(times, dtype=np.float64)
        head_s = self.travelled(t)
        centers = np.zeros((t.size, N_PARTS, 3))
        axes = np.zeros((t.size, N_PARTS, 3, 3))
        radii = np.zeros((t.size, N_PARTS, 3))
        tau, arc = self.loop.arc_table()
        length = float(arc[-1])

        def node(offset: float) -> tuple[FloatArray, FloatArray]:
            s = np.mod(head_s - offset, length)
            tt = np.interp(s, arc, tau)
            heading = self.loop.velocity(tt)
            return self.loop.point(tt), heading / np.linalg.norm(heading, axis=-1, keepdims=True)

        gait = 2.0 * np.pi * head_s / STRIDE
        bob = 1.5 * np.sin(2.0 * gait)
        index = {name: i for i, (name, _, _) in enumerate(PARTS)}
        for name, (offset, height, semi) in TRUNK.items():
            xy, fwd = node(offset)
            centers[:, index[name]] = _lift(xy, height + bob)
            axes[:, index[name]] = _frame(_lift(fwd, 0.0))
            radii[:, index[name]] = semi
        for name, trunk in MARKERS.items():
            top = np.array([0.0, 0.0, TRUNK[trunk][2][2] + MARKER_LIFT])
            centers[:, index[name]] = centers[:, index[trunk]] + axes[:, index[trunk]] @ top
            axes[:, index[name]] = axes[:, index[trunk]]
            radii[:, index[name]] = MARKER_RADIUS
        self._head(t, node, bob, centers, axes, radii, index)
        for name, (offset, lateral, phase) in PAWS.items():
            xy, fwd = node(offset)
            left = np.stack([-fwd[:, 1], fwd[:, 0]], axis=-1)
            swing = PAW_SWING * np.sin(gait + phase)
            lift = PAW_RADIUS + PAW_LIFT * np.clip(np.cos(gait + phase), 0.0, None)
            centers[:, index[name]] = _lift(xy + lateral * left + swing[:, None] * fwd, lift)
            axes[:, index[name]] = _frame(_lift(fwd, 0.0))
            radii[:, index[name]] = PAW_RADIUS
        self._tail(t, node, centers, axes, radii, index)
        return centers, axes, radii

    def _head(
        self,
        t: FloatArray,
        node: Node,
        bob: FloatArray,
        centers: FloatArray,
        axes: FloatArray,
        radii: FloatArray,
        index: dict[str, int],
    ) -> None:
        a1, f1, p1, a2, f2, p2 = self.yaw
        yaw = a1 * np.sin(2 * np.pi * f1 * t + p1) + a2 * np.sin(2 * np.pi * f2 * t + p2)
        pa, pf, pp = self.pitch
        pitch = pa * np.sin(2 * np.pi * pf * t + pp)
        xy, fwd = node(TRUNK["shoulders"][0])
        heading = np.arctan2(fwd[:, 1], fwd[:, 0]) + yaw
        rot = _rz(heading) @ _ry(-pitch)  # [T, 3, 3] head frame -> world
        neck = _lift(xy, TRUNK["shoulders"][1] + bob)
        for name, (offset, semi) in HEAD_PARTS.items():
            centers[:, index[name]] = neck + rot @ np.asarray(offset)
            axes[:, index[name]] = rot
            radii[:, index[name]] = semi

    def _tail(
        self,
        t: FloatArray,
        node: Node,
        centers: FloatArray,
        axes: FloatArray,
        radii: FloatArray,
        index: dict[str, int],
    ) -> None:
        amp, freq, phase = self.wag
        start, stop = TAIL_PROFILE[0][0], TAIL_PROFILE[0][-1]

        def tail_point(offset: float) -> FloatArray:
            xy, fwd = node(offset)
            left = np.stack([-fwd[:, 1], fwd[:, 0]], axis=-1)
            reach = ((offset - start) / (stop - start)) ** 1.5
            wag = amp * reach * np.sin(2 * np.pi * freq * t + phase - offset / 40.0)
            return _lift(xy + wag[:, None] * left, float(np.interp(offset, *TAIL_PROFILE)))

        for name, (offset, radius) in TAIL_SPHERES.items():
            centers[:, index[name]] = tail_point(offset)
            ahead = tail_point(offset - 4.0)
            axes[:, index[name]] = _frame(ahead - centers[:, index[name]])
            radii[:, index[name]] = radius
        for k, (begin, end, radius) in enumerate(TAIL_SEGMENTS):
            a, b = tail_point(begin), tail_point(end)
            part = index[f"tail_{k + 1}"]
            centers[:, part] = (a + b) / 2.0
            axes[:, part] = _frame(a - b)
            half = np.linalg.norm(a - b, axis=-1) / 2.0 + 1.5
            radii[:, part] = np.stack(
                [half, np.full_like(half, radius), np.full_like(half, radius)], -1
            )


def _pattern(rng: np.random.Generator) -> SkinPattern:
    """The skin of all N_PARTS primitives. The trunk markers come last and draw from a child
    generator, so the draws of everything else (and the next walker) do not depend on them."""
    body = SkinPattern.random(rng, N_PARTS - len(MARKERS))
    markers = SkinPattern.random(rng.spawn(1)[0], len(MARKERS))
    return SkinPattern(
        np.concatenate([body.freq, markers.freq]), np.concatenate([body.phase, markers.phase])
    )


def _lift(xy: FloatArray, z: float | FloatArray) -> FloatArray:
    return np.concatenate(
        [xy, np.broadcast_to(np.asarray(z, dtype=np.float64), xy.shape[:-1])[..., None]], -1
    )


def _frame(forward: FloatArray) -> FloatArray:
    """Right-handed frames [T, 3, 3] (columns x, y, z) with x along ``forward`` [T, 3], z up-ish."""
    x = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    y = np.cross(np.array([0.0, 0.0, 1.0]), x)
    y /= np.linalg.norm(y, axis=-1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _rz(angle: FloatArray) -> FloatArray:
    c, s, z, o = np.cos(angle), np.sin(angle), np.zeros_like(angle), np.ones_like(angle)
    return np.stack(
        [np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2
    )


def _ry(angle: FloatArray) -> FloatArray:
    c, s, z, o = np.cos(angle), np.sin(angle), np.zeros_like(angle), np.ones_like(angle)
    return np.stack(
        [np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2
    )


@dataclass(frozen=True)
class Subjects:
    """All individuals' primitives over time, concatenated: individual i owns primitives
    ``i * N_PARTS ... (i + 1) * N_PARTS - 1``. Shapes: centers [T, P, 3], axes [T, P, 3, 3],
    radii [T, P, 3], colors [P, 3]."""

    times: FloatArray
    centers: FloatArray
    axes: FloatArray
    radii: FloatArray
    colors: FloatArray
    pattern: SkinPattern

    @property
    def n_individuals(self) -> int:
        return self.colors.shape[0] // N_PARTS

    def frame(self, i: int) -> Ellipsoids:
        return Ellipsoids(self.centers[i], self.axes[i], self.radii[i], self.colors, self.pattern)

    def keypoint_parts(self) -> NDArray[np.int64]:
        """Primitive index of every keypoint [K, I]."""
        base = np.arange(self.n_individuals) * N_PARTS
        return np.asarray(KEYPOINT_PART)[:, None] + base[None, :]

    def keypoints(self) -> FloatArray:
        """True 3D keypoints [T, 3, K, I] (mm): the centres of the keypoints' primitives."""
        pts = self.centers[:, self.keypoint_parts()]  # [T, K, I, 3]
        return np.ascontiguousarray(np.moveaxis(pts, -1, 1))


def make_walkers(rng: np.random.Generator, n_individuals: int) -> tuple[Walker, ...]:
    if not 1 <= n_individuals <= MAX_INDIVIDUALS:
        raise Pose3dError(
            f"the synthetic subject supports 1 to {MAX_INDIVIDUALS} individuals, "
            f"got {n_individuals}"
        )
    center = rng.uniform(-20.0, 20.0, 2)
    return tuple(Walker.random(rng, i, center) for i in range(n_individuals))


def simulate(walkers: tuple[Walker, ...], times: FloatArray) -> Subjects:
    """Pose every walker at ``times`` (s) [T]."""
    posed = [w.parts(times) for w in walkers]
    colours = np.concatenate(
        [
            np.array([w.body_colour if role == "body" else SKIN for _, _, role in PARTS])
            for w in walkers
        ]
    )
    pattern = SkinPattern(
        np.concatenate([w.pattern.freq for w in walkers]),
        np.concatenate([w.pattern.phase for w in walkers]),
    )
    return Subjects(
        np.asarray(times, dtype=np.float64),
        np.concatenate([p[0] for p in posed], axis=1),
        np.concatenate([p[1] for p in posed], axis=1),
        np.concatenate([p[2] for p in posed], axis=1),
        colours,
        pattern,
    )
