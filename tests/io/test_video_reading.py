"""VideoReader, frame offsets and natural order, on tiny synthetic videos whose frames encode
their index (tests.support.indexed_frames), so frame-exactness is checked exactly."""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pose3d.errors import Pose3dError, VideoError
from pose3d.io import video_reading
from pose3d.io.video_reading import (
    FrameIndexError,
    VideoReader,
    camera_to_session_frame,
    natural_sort_key,
    session_to_camera_frame,
)
from pose3d.io.video_writing import write_video
from tests.support.indexed_frames import (
    FPS,
    GOP,
    VIDEO_SUFFIXES,
    H,
    N,
    W,
    indexed_frame,
    which_frame,
)


def write_plain_mp4(path: Path) -> None:
    """An mp4 with its index (moov) at the end, as cameras and plain ffmpeg write it."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(N):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(indexed_frame(i), format="rgb24")))
        out.mux(stream.encode(None))


def truncate(path: Path, fraction: float, dest: Path) -> Path:
    data = path.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    frames = [indexed_frame(i) for i in range(N)]
    return {s: write_video(folder / f"cam{s}", frames, FPS, gop_size=GOP) for s in VIDEO_SUFFIXES}


# --- videos --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_video_metadata(videos: dict[str, Path], suffix: str) -> None:
    with VideoReader(videos[suffix]) as reader:
        assert len(reader) == reader.n_frames == N
        assert reader.fps == FPS
        assert reader.size == (W, H)


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_random_access_in_random_order_is_frame_exact(videos: dict[str, Path], suffix: str) -> None:
    order = list(range(N)) * 2
    random.Random(0).shuffle(order)
    with VideoReader(videos[suffix]) as reader:
        assert [which_frame(reader[i]) for i in order] == order
        assert which_frame(reader.read(-1)) == N - 1
        assert which_frame(reader[np.int64(7)]) == 7


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_iter_frames_decodes_sequentially(videos: dict[str, Path], suffix: str) -> None:
    with VideoReader(videos[suffix]) as reader:
        reader.read(30)
        seeks_before = reader._source._seeks
        assert [which_frame(f) for f in reader.iter_frames(3, 37)] == list(range(3, 37))
        assert reader._source._seeks - seeks_before == 1
        assert [which_frame(f) for f in reader] == list(range(N))
        assert list(reader.iter_frames(5, 5)) == []


class LateSeek:
    """A container whose first seek lands 2 frames after the asked pts, on any frame."""

    def __init__(self, container: av.container.InputContainer, frame_pts: int) -> None:
        self._container, self._late, self.calls = container, 2 * frame_pts, 0

    def seek(self, offset: int, **kwargs: object) -> None:
        self.calls += 1
        if self.calls == 1:
            kwargs["any_frame"] = True
            offset += self._late
        self._container.seek(offset, **kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self._container, name)


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
@pytest.mark.parametrize("target", [21, 23])  # the seek to keyframe 20 lands on frame 22
def test_an_imprecise_seek_is_recovered(videos: dict[str, Path], suffix: str, target: int) -> None:
    with VideoReader(videos[suffix]) as reader:
        source = reader._source
        step = int(source._table.pts[1] - source._table.pts[0])
        source._container = late = LateSeek(source._container, step)
        assert which_frame(reader[target]) == target
        assert late.calls >= 1
        assert [which_frame(f) for f in reader.iter_frames(24, 27)] == [24, 25, 26]


def test_repeated_read_returns_an_independent_copy(videos: dict[str, Path]) -> None:
    with VideoReader(videos[".mp4"]) as reader:
        first = reader[12]
        first[:] = 0
        assert which_frame(reader[12]) == 12


def test_fps_argument_overrides_the_container_rate(videos: dict[str, Path]) -> None:
    with VideoReader(videos[".mp4"], fps=120.0) as reader:
        assert reader.fps == 120.0


# --- frame offsets ---------------------------------------------------------------------------


def test_camera_frame_i_is_session_frame_i_plus_offset() -> None:
    assert session_to_camera_frame(10, 3) == 7
    assert camera_to_session_frame(7, 3) == 10
    assert session_to_camera_frame(0, 3) == -3  # the camera had not started yet
    for offset in (-5, 0, 4):
        for frame in range(-3, 20):
            assert camera_to_session_frame(session_to_camera_frame(frame, offset), offset) == frame


# --- image folders ---------------------------------------------------------------------------


def write_png(path: Path, frame: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def test_image_folder_in_natural_order(tmp_path: Path) -> None:
    numbers = list(range(1, 13))
    random.Random(2).shuffle(numbers)
    for n in numbers:  # created in shuffled order
        write_png(tmp_path / f"frame{n}.png", indexed_frame(n))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._frame3.png").write_bytes(b"macOS metadata, not an image")
    with VideoReader(tmp_path) as reader:
        assert len(reader) == 12
        assert reader.size == (W, H)
        assert reader.fps is None
        assert [which_frame(f) for f in reader] == list(range(1, 13))
        np.testing.assert_array_equal(reader[9], indexed_frame(10))  # lossless, exact
    assert VideoReader(tmp_path, fps=50).fps == 50


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".PNG"])
def test_image_folder_formats_and_rgb_order(tmp_path: Path, suffix: str) -> None:
    frame = np.zeros((H, W, 3), np.uint8)
    frame[..., 0] = 200  # red
    assert cv2.imwrite(str(tmp_path / f"a{suffix}"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    with VideoReader(tmp_path) as reader:
        assert np.abs(reader[0].astype(int) - frame).max() <= (3 if "jp" in suffix else 0)


def test_natural_sort_key() -> None:
    names = ["frame10.png", "frame2.png", "Frame1.png", "frame2b.png", "img-9.jpg", "img-10.jpg"]
    assert sorted(names, key=natural_sort_key) == [
        "Frame1.png",
        "frame2.png",
        "frame2b.png",
        "frame10.png",
        "img-9.jpg",
        "img-10.jpg",
    ]


# --- bad input: one clear message ------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"nope\.mp4 not found: expected a video"):
        VideoReader(tmp_path / "nope.mp4")


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n" * 50])
def test_a_renamed_non_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=r"notes\.mp4 cannot be opened as a video .*renamed"):
        VideoReader(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,2,3")
    with pytest.raises(VideoError, match=r"data\.csv is not a video \(\.mp4, \.avi"):
        VideoReader(path)


def test_a_file_without_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        samples = np.zeros((1, 800), np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoError, match=r"sound\.mkv has no video stream"):
        VideoReader(path)


def test_a_truncated_mp4_with_its_index_at_the_end_fails_to_open(tmp_path: Path) -> None:
    write_plain_mp4(tmp_path / "plain.mp4")
    cut = truncate(tmp_path / "plain.mp4", 0.5, tmp_path / "cut.mp4")
    with pytest.raises(VideoError, match=r"cut\.mp4 cannot be opened .*interrupted"):
        VideoReader(cut)


@pytest.mark.parametrize("suffix", VIDEO_SUFFIXES)
def test_a_truncated_video_reads_its_complete_frames_exactly(
    videos: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    cut = truncate(videos[suffix], 0.5, tmp_path / f"cut{suffix}")
    with VideoReader(cut) as reader:
        n = len(reader)
        assert 0 < n < N
        order = random.Random(3).sample(range(n), n)
        assert [which_frame(reader[i]) for i in order] == order
        with pytest.raises(FrameIndexError) as error:
            reader.read(n)
    message = str(error.value)
    assert f"frame {n} is out of range for {cut}: it has {n} readable frames (0–{n - 1})" in message
    assert "looks truncated" in message


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_no_index_of_a_cut_video_returns_another_frame(
    videos: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    """Cut at every other percent of the file: the reader refuses it or returns exact frames.

    Some cuts leave a B-frame stream with frames missing before the last complete ones."""
    opened = 0
    for percent in range(1, 100, 2):
        cut = truncate(videos[suffix], percent / 100, tmp_path / f"cut{percent}{suffix}")
        try:
            reader = VideoReader(cut)
        except VideoError:
            continue  # refusing to open is also a correct answer
        with reader:
            n = len(reader)
            assert [which_frame(f) for f in reader] == list(range(n)), f"cut at {percent}%"
            assert [which_frame(reader[i]) for i in range(n - 1, -1, -2)] == list(
                range(n - 1, -1, -2)
            ), f"cut at {percent}%"
        opened += 1
    assert opened > 25


def test_index_out_of_range(videos: dict[str, Path]) -> None:
    with VideoReader(videos[".avi"]) as reader:
        for index in (N, -N - 1, 10**6):
            with pytest.raises(FrameIndexError, match=r"out of range for .*cam\.avi.*\(0–39\)"):
                reader[index]
        with pytest.raises(FrameIndexError, match=r"expected 0 <= start <= stop <= 40"):
            reader.iter_frames(0, N + 1)
    assert issubclass(FrameIndexError, IndexError)
    assert issubclass(FrameIndexError, Pose3dError)


def test_a_closed_reader_says_so(videos: dict[str, Path]) -> None:
    reader = VideoReader(videos[".mkv"])
    reader.close()
    reader.close()  # idempotent
    with pytest.raises(VideoError, match="the reader is closed"):
        reader[0]


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"image folder .* is empty: expected images \(\.png"):
        VideoReader(tmp_path)


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match=r"holds no images \(2 other files, e\.g\. clip\.mp4\)"):
        VideoReader(tmp_path)


def test_image_of_another_size_is_named(tmp_path: Path) -> None:
    for i in range(3):
        write_png(tmp_path / f"f{i}.png", indexed_frame(i))
    write_png(tmp_path / "f3.png", np.zeros((H, W + 2, 3), np.uint8))
    with VideoReader(tmp_path) as reader, pytest.raises(VideoError, match=r"f3\.png is 66×48 px"):
        list(reader)


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    write_png(tmp_path / "f0.png", indexed_frame(0))
    (tmp_path / "f1.png").write_bytes(b"not a png")
    with VideoReader(tmp_path) as reader, pytest.raises(VideoError, match=r"f1\.png cannot be"):
        reader[1]


def test_invalid_fps_argument(tmp_path: Path) -> None:
    write_png(tmp_path / "f0.png", indexed_frame(0))
    with pytest.raises(VideoError, match="fps must be a positive number"):
        VideoReader(tmp_path, fps=0)


# --- the frame table of damaged and cut streams ---------------------------------------------


def packets(spec: str) -> list[video_reading._Packet]:
    """'I0 P3 B1 B2' -> packets in decode order; '!' marks a corrupt packet; dts = order - 2."""
    out = []
    for order, token in enumerate(spec.split()):
        pts = int(token.strip("IPB!"))
        out.append(video_reading._Packet(pts, order - 2, token[0] == "I", token.endswith("!")))
    return out


def test_frames_after_a_corrupt_packet_are_damaged_until_the_next_keyframe() -> None:
    table = video_reading._frame_table(packets("I0 P1 P2! P3 P4 I5 P6"))
    assert table.pts.tolist() == list(range(7))
    assert table.damaged.tolist() == [False, False, True, True, True, False, False]
    assert table.keyframes.tolist() == [0, 5]
    assert table.n_dropped == 0


def test_a_cut_b_frame_stream_keeps_only_frames_without_missing_predecessors() -> None:
    intact = video_reading._frame_table(packets("I0 P3 B1 B2 P6 B4 B5 P9 B7 B8"))
    assert intact.pts.tolist() == list(range(10))
    cut = video_reading._frame_table(packets("I0 P3 B1 B2 P6 B4"))  # B5 and later are missing
    assert cut.pts.tolist() == [0, 1, 2, 3, 4]  # not 6, which would be read as frame 5
    assert cut.n_dropped == 1
    partial = video_reading._frame_table(packets("I0 P3 B1 B2 P6!"))  # the cut fell inside P6
    assert partial.pts.tolist() == [0, 1, 2, 3]
    assert partial.n_dropped == 1
    no_dts = [p._replace(dts=None) for p in packets("I0 P3")]  # .mkv: dts comes later
    assert video_reading._frame_table(no_dts, frame_step=1.0).pts.tolist() == [0]


# --- real recordings (../shared/data) --------------------------------------------------------


def test_real_h264_random_access_matches_sequential_decoding(minimal_session: Path) -> None:
    path = minimal_session / "back" / "minimal_back.mp4"
    with av.open(str(path)) as container:
        truth = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with VideoReader(path) as reader:
        assert (len(reader), reader.fps, reader.size) == (120, 30.0, (1280, 1024))
        for i in (97, 3, 119, 60, 61, 0, 45, 118):
            np.testing.assert_array_equal(reader[i], truth[i])


def test_real_calibration_media(minimal_session: Path) -> None:
    folder = minimal_session / "side" / "calibration_images"
    with VideoReader(folder / "minimal_session-side-calibration.MOV") as reader:
        assert len(reader) == 21
    with VideoReader(folder) as reader:  # side-…-9.jpg before side-…-10.jpg; the .MOV is skipped
        names = [p.name for p in reader._source._files]
        assert [int(n.rsplit("-", 1)[1].split(".")[0]) for n in names] == list(range(21))
        assert reader.size == (1280, 1024)


# --- files that are not files: a FIFO never ends, a device neither --------------------------------

OPEN_AND_REPORT = """
import sys
from pathlib import Path
from pose3d.errors import VideoError
from pose3d.io.video_probe import probe_video
from pose3d.io.video_reading import VideoReader

path = Path(sys.argv[1])
try:
    VideoReader(path)
except VideoError as exc:
    print("refused:", exc)
print("probe:", probe_video("cam0", path).error)
"""


def _open_in_a_subprocess(path: Path) -> str:
    """Open ``path`` in another process, so that a reader that blocks fails this test (after
    30 s) instead of hanging the run."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_AND_REPORT, str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=repo,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening {path} blocked: a non-regular file must be refused before opening")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")
def test_a_fifo_as_a_video_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "cam0.mp4"
    os.mkfifo(fifo)
    out = _open_in_a_subprocess(fifo)
    assert f"refused: {fifo} is a FIFO (named pipe), not a file: expected a video" in out
    assert f"probe: {fifo} is a FIFO (named pipe)" in out


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_as_a_video_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "cam0.mp4"
    link.symlink_to("/dev/zero")  # endless bytes: an indexing pass would never end
    assert f"refused: {link} is a device, not a file" in _open_in_a_subprocess(link)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")
def test_a_fifo_in_an_image_folder_is_refused_not_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "cam0"
    folder.mkdir()
    for i in (0, 2):
        cv2.imwrite(str(folder / f"frame{i}.png"), indexed_frame(i))
    os.mkfifo(folder / "frame1.png")  # skipping it would make frame2 frame 1
    os.mkfifo(folder / "notes")  # not an image: ignored, as other files are
    out = _open_in_a_subprocess(folder)
    assert f"refused: {folder / 'frame1.png'} is a FIFO (named pipe), not a file: replace it" in out
    (folder / "frame1.png").unlink()
    cv2.imwrite(str(folder / "frame1.png"), indexed_frame(1))
    with VideoReader(folder) as reader:
        assert [which_frame(f) for f in reader] == [0, 1, 2]
