"""write_sample_session: a complete synthetic session folder with its ground truth.

Layout written (``cam<j>`` for each camera)::

    ROOT/
      session.toml                 cameras (videos/cam<j>.mp4, offsets), skeleton, individuals,
                                   fps, board, and a [synthetic] table (seed, media paths)
      videos/cam<j>.mp4            the subject, camera j's frame i = session frame i + offset_j
      calibration/board.toml       the board spec (pose3d.io.board_toml keys)
      calibration/cam<j>/board.mp4 the board moving through the arena (synchronized cameras)
      calibration/cam<j>/frames/   the same frames as lossless PNGs, frame_000000.png ...
      truth/README.txt             what the files below hold
      truth/calibration.toml       the true cameras (Anipose format, mm)
      truth/poses3d.nc             the true 3D keypoints
      truth/labels.nc              the true 2D of every camera, with a boolean ``visible``
      truth/board.nc               the true board poses and corners of the calibration media

Every array is a deterministic function of ``seed``: the rig, the floor, the board poses, the
subject's motion and the sensor noise each draw from their own stream of
``np.random.SeedSequence(seed)``, so changing e.g. the number of frames leaves the rig alone.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board
from pose3d.cameras import CameraGroup
from pose3d.errors import Pose3dError, VideoError
from pose3d.io.atomic import atomic_write_text
from pose3d.io.board_toml import save_board
from pose3d.io.calibration_toml import save_calibration
from pose3d.io.lock import SessionLock
from pose3d.io.netcdf import save_labels, save_poses
from pose3d.io.netcdf_file import write_netcdf
from pose3d.io.session_toml import save_session
from pose3d.io.video_writing import write_image_folder, write_video
from pose3d.lens import LensModelName
from pose3d.session import CALIBRATION_DIR, CameraSpec, Session
from pose3d.synthetic import board_media, truth
from pose3d.synthetic.raycast import CameraView, PlacedBoard, prepare_view, render
from pose3d.synthetic.rig import RigSpec, make_rig
from pose3d.synthetic.subject import (
    KEYPOINTS,
    MAX_INDIVIDUALS,
    Subjects,
    make_walkers,
    rodent_skeleton,
    simulate,
)
from pose3d.synthetic.textures import make_floor

Progress = Callable[[str, int, int], None]
Frame = NDArray[np.uint8]

NOISE_SIGMA = 1.0  # grey levels of sensor noise
IN_MEMORY_BYTES = 256 * 2**20  # calibration frames of one camera kept in memory up to this
TRUTH_DIR = "truth"
VIDEOS_DIR = "videos"
_STREAMS = {"rig": 0, "floor": 1, "board": 2, "subject": 3, "board_noise": 4, "video_noise": 5}


def stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """The random generator of one named stream (and optional sub-keys) of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAMS[name], *key)))


def make_scene(
    seed: int,
    n_cameras: int = 4,
    image_size: tuple[int, int] = (640, 480),
    lens: LensModelName = "pinhole",
) -> tuple[CameraGroup, list[CameraView]]:
    """The rig of ``seed`` and each camera's prepared view of the textured floor."""
    spec = RigSpec(n_cameras, image_size, lens)
    rig = make_rig(spec, stream(seed, "rig"))
    floor = make_floor(stream(seed, "floor"), spec.arena_radius)
    return rig, [prepare_view(cam, floor) for cam in rig]


def write_sample_session(
    root: str | os.PathLike[str],
    n_cameras: int = 4,
    n_frames: int = 60,
    n_board_frames: int = 60,
    image_size: tuple[int, int] = (640, 480),
    n_individuals: int = 1,
    board: str | Board = "charuco",
    offsets: Mapping[str, int] | None = None,
    seed: int = 0,
    fps: float = 30.0,
    image_folders: bool = True,
    lens: LensModelName = "pinhole",
    progress: Progress | None = None,
) -> Session:
    """Write a complete synthetic session (layout in the module docstring) and return it.

    ``board`` is "charuco", "checkerboard" or a board spec in mm; ``offsets`` maps camera names
    (cam0, cam1, ...) to frame offsets (camera j's frame i is session frame i + offset_j; the
    truth counts session frames 0 .. n_frames - 1). ``progress(step, done, total)`` is called as
    the work advances. ``image_folders`` also writes the calibration media as PNG folders
    beside the videos. ``lens`` is the cameras' lens model: "pinhole" or "fisheye" (closer
    cameras with a wide field of view, see pose3d.synthetic.rig). ``root`` must not exist or be
    empty.
    """
    root = Path(root)
    spec = _check_args(
        root, n_cameras, n_frames, n_board_frames, image_size, n_individuals, seed, fps, lens
    )
    board_spec = board_media.default_board(board) if isinstance(board, str) else board
    if board_spec.unit != "mm":
        raise Pose3dError(f"the synthetic world is in mm; got a board in {board_spec.unit!r}")
    names = tuple(f"cam{j}" for j in range(n_cameras))
    shifts = _check_offsets(offsets, names)
    report = progress or (lambda step, done, total: None)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with SessionLock(root):
            rig = _write_media(
                root,
                spec,
                board_spec,
                shifts,
                (n_frames, n_board_frames),
                n_individuals,
                seed,
                fps,
                image_folders,
                report,
            )
            session = Session(
                root=root,
                name=root.name or "synthetic",
                cameras=tuple(
                    CameraSpec(n, f"{VIDEOS_DIR}/{n}.mp4", shift)
                    for n, shift in zip(rig.names, shifts, strict=True)
                ),
                skeleton=rodent_skeleton(),
                individuals=_individuals(n_individuals),
                fps=fps,
                board=board_spec,
                calibration_media={n: f"{CALIBRATION_DIR}/{n}/board.mp4" for n in rig.names},
                extra={"synthetic": _synthetic_table(seed, rig.names, image_folders)},
            )
            save_session(session)  # last: a folder with session.toml is complete
    except BaseException:
        _clear(root, remove=created)  # it was empty: leave no half-written session behind
        raise
    return session


def _write_media(
    root: Path,
    spec: RigSpec,
    board: Board,
    shifts: tuple[int, ...],
    lengths: tuple[int, int],  # frames of the subject videos and of the calibration media
    n_individuals: int,
    seed: int,
    fps: float,
    image_folders: bool,
    report: Progress,
) -> CameraGroup:
    report("cameras", 0, spec.n_cameras)
    rig, views = make_scene(seed, spec.n_cameras, spec.image_size, spec.lens)
    report("cameras", spec.n_cameras, spec.n_cameras)
    (root / TRUTH_DIR).mkdir(exist_ok=True)
    n_frames, n_board_frames = lengths
    _write_calibration_media(
        root, rig, views, board, (n_board_frames, image_folders), seed, fps, report
    )
    individuals = _individuals(n_individuals)
    _write_subject(root, rig, views, shifts, n_frames, individuals, seed, fps, report)
    save_calibration(root / TRUTH_DIR / "calibration.toml", rig)
    atomic_write_text(root / TRUTH_DIR / "README.txt", TRUTH_README)
    save_board(root / CALIBRATION_DIR / "board.toml", board)
    return rig


def _individuals(n: int) -> tuple[str, ...]:
    return tuple(f"individual_{i}" for i in range(n))


def _clear(root: Path, remove: bool) -> None:
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if remove:
        root.rmdir()


def _check_args(
    root: Path,
    n_cameras: int,
    n_frames: int,
    n_board_frames: int,
    image_size: tuple[int, int],
    n_individuals: int,
    seed: int,
    fps: float,
    lens: LensModelName,
) -> RigSpec:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise Pose3dError(f"{root} already exists and is not empty; give a new or empty folder")
    if n_frames < 1 or n_board_frames < 1:
        raise Pose3dError(
            f"n_frames and n_board_frames must be at least 1, got {n_frames} and {n_board_frames}"
        )
    width, height = image_size
    if width % 2 or height % 2:
        raise Pose3dError(
            f"image width and height must be even (H.264 video), got {width}x{height}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise Pose3dError(f"seed must be a non-negative integer, got {seed!r}")
    if not (np.isfinite(fps) and fps > 0):
        raise Pose3dError(f"fps must be positive, got {fps}")
    if not 1 <= n_individuals <= MAX_INDIVIDUALS:
        raise Pose3dError(
            f"the synthetic subject has 1 to {MAX_INDIVIDUALS} individuals, got {n_individuals}"
        )
    return RigSpec(n_cameras, (int(width), int(height)), lens)


def _check_offsets(offsets: Mapping[str, int] | None, names: tuple[str, ...]) -> tuple[int, ...]:
    offsets = dict(offsets or {})
    unknown = sorted(set(offsets) - set(names))
    if unknown:
        raise Pose3dError(
            f"offsets name unknown camera(s) {', '.join(unknown)}; cameras are {', '.join(names)}"
        )
    for name, value in offsets.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise Pose3dError(f"offset of {name} must be a whole number of frames, got {value!r}")
    return tuple(int(offsets.get(n, 0)) for n in names)


def _write_calibration_media(
    root: Path,
    rig: CameraGroup,
    views: list[CameraView],
    board: Board,
    length: tuple[int, bool],  # frames, and whether to write PNG folders too
    seed: int,
    fps: float,
    report: Progress,
) -> None:
    n_frames, image_folders = length
    margin = board.square_length / 2.0
    poses = board_media.sample_board_poses(
        rig, board, n_frames, stream(seed, "board"), margin, **_placement(rig)
    )
    texture = board_media.board_texture(board, rig, margin)
    placed = list(board_media.placed_boards(texture, poses))
    count = _Count(report, "calibration media", len(rig) * n_frames)

    def one_camera(j: int) -> None:
        view = views[j]
        folder = root / CALIBRATION_DIR / view.camera.name
        frames = _board_frames(view, placed, seed, j, count)
        width, height = view.camera.size
        if not image_folders:
            write_video(folder / "board.mp4", frames, fps)
        elif n_frames * width * height * 3 <= IN_MEMORY_BYTES:
            kept = list(frames)
            write_image_folder(folder / "frames", kept)
            write_video(folder / "board.mp4", kept, fps)
        else:  # long media: write the images, then read them back for the video
            paths = write_image_folder(folder / "frames", frames)
            write_video(folder / "board.mp4", _read_pngs(paths), fps)

    _per_camera(one_camera, len(views))
    world, pixels, visible = board_media.corner_truth(rig, board, poses)
    front = board_media.front_facing(rig, poses)
    ds = truth.board_truth(board, poses, world, pixels, visible, front, rig.names)
    write_netcdf(root / TRUTH_DIR / "board.nc", ds)


def _placement(rig: CameraGroup) -> dict[str, Any]:
    """Where boards go (see board_media.sample_board_poses): the defaults, or for a fisheye rig
    out to the arena's rim and higher, so that the corners reach the periphery of its wide
    images, where the fisheye model is what matters."""
    if any(cam.model == "fisheye" for cam in rig):
        return {"placement_radius": 380.0, "height": (50.0, 400.0)}
    return {}


def _board_frames(
    view: CameraView,
    placed: list[PlacedBoard],
    seed: int,
    j: int,
    count: _Count,
) -> Iterator[Frame]:
    for i, sheet in enumerate(placed):
        noise = (stream(seed, "board_noise", j, i), NOISE_SIGMA)
        yield render(view, board=sheet, noise=noise).image
        count.tick()


def _read_pngs(paths: list[Path]) -> Iterator[Frame]:
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise VideoError(f"cannot read back {path}, just written")
        yield np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _subject_frames(
    view: CameraView, shown: Subjects, seed: int, j: int, count: _Count
) -> Iterator[Frame]:
    for i in range(len(shown.times)):
        noise = (stream(seed, "video_noise", j, i), NOISE_SIGMA)
        yield render(view, bodies=shown.frame(i), noise=noise).image
        count.tick()


def _write_subject(
    root: Path,
    rig: CameraGroup,
    views: list[CameraView],
    shifts: tuple[int, ...],
    n_frames: int,
    individuals: tuple[str, ...],
    seed: int,
    fps: float,
    report: Progress,
) -> None:
    walkers = make_walkers(stream(seed, "subject"), len(individuals))
    frames_index = np.arange(n_frames)
    count = _Count(report, "videos", len(rig) * n_frames)

    def one_camera(j: int) -> None:
        view = views[j]
        shown = simulate(
            walkers, (frames_index + shifts[j]) / fps
        )  # camera frame i: session i + shift
        frames = _subject_frames(view, shown, seed, j, count)
        write_video(root / VIDEOS_DIR / f"{view.camera.name}.mp4", frames, fps)

    _per_camera(one_camera, len(views))
    report("ground truth", 0, 1)
    session_subjects = simulate(walkers, frames_index / fps)
    camera_frames = frames_index[:, None] - np.asarray(shifts)[None, :]  # [T, V]
    recorded = (camera_frames >= 0) & (camera_frames < n_frames)
    pixels, visible = truth.subject_truth(rig, session_subjects, recorded)
    truth_dir = root / TRUTH_DIR
    save_labels(
        truth_dir / "labels.nc",
        truth.labels_truth(pixels, visible, rig.names, KEYPOINTS, individuals),
    )
    save_poses(
        truth_dir / "poses3d.nc",
        truth.poses_truth(session_subjects.keypoints(), visible, KEYPOINTS, individuals, fps),
    )
    report("ground truth", 1, 1)


class _Count:
    """Progress of one step whose frames several threads render: each tick is one frame."""

    def __init__(self, report: Progress, step: str, total: int) -> None:
        self._report, self._step, self._total = report, step, total
        self._done = 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self._done += 1
            self._report(self._step, self._done, self._total)


def _per_camera(work: Callable[[int], None], n: int) -> None:
    """``work(j)`` for every camera j, on as many threads as there are cores (rendering, PNG and
    video encoding release the GIL; each camera's noise has its own seed, so the media are the
    same whatever the order)."""
    workers = min(n, os.cpu_count() or 1)
    if workers <= 1:
        for j in range(n):
            work(j)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(work, j) for j in range(n)]:
            done.result()


def _synthetic_table(seed: int, names: tuple[str, ...], image_folders: bool) -> dict[str, object]:
    table: dict[str, object] = {"seed": seed, "truth": TRUTH_DIR}
    if image_folders:
        table["calibration_images"] = {n: f"{CALIBRATION_DIR}/{n}/frames" for n in names}
    return table


TRUTH_README = """\
Ground truth of a synthetic pose3d session (written by pose3d.synthetic.write_sample_session).
World frame: millimetres, the arena floor is z = 0 (arena radius 400 mm around the origin), z up.
Pixels: the centre of the top-left pixel is (0, 0). Session frame t shows time t / fps; camera j's
video frame i is session frame i + offset_j (offsets in ../session.toml).

calibration.toml  The true cameras in Anipose's format (matrix, distortions k1 k2 p1 p2 k3 or,
                  in tables with fisheye = true, OpenCV's fisheye k1 k2 k3 k4; rotation =
                  Rodrigues world->camera, translation in mm).
poses3d.nc        The true 3D keypoints, position[time, space, keypoint, individual] in mm
                  (movement's poses layout; time in seconds). Each keypoint is the centre of its
                  own small body primitive (a sphere or ellipsoid) that moves rigidly with the
                  surface it sits on: neck, spine_mid and tail_base are marker spheres on top of
                  the trunk, fixed in the trunk's frame. confidence = 1, reprojection_error = 0,
                  n_views = number of cameras where it is visible.
labels.nc         The true 2D in labels.nc's layout, time in session frames:
                  position[time, view, space, keypoint, individual] = projection of the true 3D
                  with the true camera (also where the point is hidden); visible[time, view,
                  keypoint, individual] = inside the image, in a frame the camera recorded, and
                  the first surface on the ray from the camera to the keypoint is the keypoint's
                  own primitive (so occlusion by the body or another individual hides it);
                  confidence = 1 where visible else 0; source = IMPORTED where there is a position.
board.nc          The calibration media (calibration/<camera>/board.mp4 and frames/, the cameras
                  synchronized): rvec, tvec[time, axis] board->world (X_world = R(rvec) X_board +
                  tvec, mm; board frame: z = 0, x along squares_x, origin at the outer corner of
                  square (0, 0), printed face towards -z); corner_world[time, corner, axis];
                  position[time, view, space, corner] true pixels of each corner (id order of
                  pose3d.board / OpenCV); visible[time, view, corner] = in the image and the camera
                  sees the printed face; front_facing[time, view].
"""
