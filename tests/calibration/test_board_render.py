"""Printable boards: true scale in PNG (pHYs) and PDF (page size), detectable, and the ready
specs shipped as package data (pose3d/calibration/boards/), listed, shown and rendered by name."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pose3d.board import Board, CharucoBoard, Checkerboard
from pose3d.calibration.board_print import render_board
from pose3d.calibration.detect import make_detector
from pose3d.calibration.ready_boards import ReadySpec, load_board_spec, ready_spec, ready_specs
from pose3d.cli import EXIT_USER_ERROR, main
from pose3d.errors import Pose3dError
from pose3d.io.board_toml import load_board, save_board

SHIPPED = ready_specs()
CHARUCO = CharucoBoard(5, 7, 40.0, 30.0, "DICT_4X4_50")
MM_PER_INCH = 25.4


def png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF, kind
        chunks.setdefault(kind, payload)
        at += 12 + length
    return chunks


def png_dpi(path: Path) -> float:
    per_x, per_y, unit = struct.unpack(">IIB", png_chunks(path.read_bytes())[b"pHYs"])
    assert unit == 1 and per_x == per_y  # pixels per metre, square pixels
    return per_x * MM_PER_INCH / 1000.0


def pdf_objects(data: bytes) -> dict[int, bytes]:
    """Objects by number, read through the xref table (checks every offset)."""
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\s+(\d+)", data).group(1))  # type: ignore[union-attr]
    assert data[start:].startswith(b"xref")
    lines = data[start:].split(b"\n")
    first, count = map(int, lines[1].split())
    assert b"trailer" in data[start:] and b"/Root 1 0 R" in data[start:]
    objects = {}
    for number, entry in enumerate(lines[2 : 2 + count], start=first):
        offset, _, kind = entry.split()[:3]
        if kind == b"n":
            at = int(offset)
            assert data[at:].startswith(f"{number} 0 obj".encode())
            objects[number] = data[at : data.index(b"endobj", at)]
    return objects


def test_png_is_true_scale_and_detectable(tmp_path: Path) -> None:
    dpi = 100.0
    printed = render_board(CHARUCO, tmp_path / "board.png", dpi=dpi, margin_mm=10.0)

    image = cv2.imread(str(printed.path), cv2.IMREAD_UNCHANGED)
    height, width = image.shape
    assert (width, height) == printed.pixels
    page_mm = (200.0 + 20.0, 280.0 + 20.0)
    # whole-pixel squares: the exact resolution is the nearest one to 100 dpi that allows them
    square_px = 40.0 * dpi / MM_PER_INCH
    assert abs(printed.dpi - dpi) <= dpi * 0.5 / square_px
    assert png_dpi(printed.path) == pytest.approx(printed.dpi, rel=1e-4)
    for pixels, mm in zip((width, height), page_mm, strict=True):
        assert pixels == pytest.approx(mm * dpi / MM_PER_INCH, abs=1 + 0.5 * 7)  # 7 squares max
        assert pixels == pytest.approx(mm * printed.dpi / MM_PER_INCH, abs=1)
    # a printed square is 40 mm at the resolution the file states
    found = make_detector(CHARUCO)(image)
    assert len(found.ids) == CHARUCO.n_corners
    corners = found.corners[np.argsort(found.ids)].reshape(6, 4, 2)
    step_px = np.linalg.norm(np.diff(corners, axis=0), axis=-1).mean()
    assert step_px / png_dpi(printed.path) * MM_PER_INCH == pytest.approx(40.0, abs=0.05)


def test_pdf_page_is_the_board_size_in_points(tmp_path: Path) -> None:
    printed = render_board(CHARUCO, tmp_path / "board.pdf", dpi=60.0, margin_mm=0.0)

    data = printed.path.read_bytes()
    objects = pdf_objects(data)
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", objects[3])
    assert box is not None
    points = 72.0 / MM_PER_INCH
    assert float(box.group(1)) == pytest.approx(200.0 * points, abs=1e-3)
    assert float(box.group(2)) == pytest.approx(280.0 * points, abs=1e-3)
    # the image XObject decodes to the board's pixels, which OpenCV detects
    head, _, rest = objects[4].partition(b"stream\n")
    width = int(re.search(rb"/Width (\d+)", head).group(1))  # type: ignore[union-attr]
    height = int(re.search(rb"/Height (\d+)", head).group(1))  # type: ignore[union-attr]
    length = int(re.search(rb"/Length (\d+)", head).group(1))  # type: ignore[union-attr]
    assert (width, height) == printed.pixels
    pixels = np.frombuffer(zlib.decompress(rest[:length]), np.uint8).reshape(height, width)
    assert len(make_detector(CHARUCO)(pixels).ids) == CHARUCO.n_corners
    assert f"{float(box.group(1)):.4f} 0 0".encode() in objects[5]  # drawn over the whole page


def test_pdf_renders_with_poppler(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed; the PDF is checked by parsing")
    printed = render_board(CHARUCO, tmp_path / "board.pdf", dpi=60.0, margin_mm=5.0)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-gray", "-png", str(printed.path), str(tmp_path / "page")],
        check=True,
    )
    page = cv2.imread(str(next(tmp_path.glob("page*.png"))), cv2.IMREAD_GRAYSCALE)
    assert page.shape[1] == pytest.approx(210.0 * 60 / MM_PER_INCH, abs=2)
    assert len(make_detector(CHARUCO)(page).ids) == CHARUCO.n_corners


def test_other_units_are_converted_to_mm(tmp_path: Path) -> None:
    in_cm = Checkerboard(9, 6, 2.5, unit="cm")
    printed = render_board(in_cm, tmp_path / "board.pdf", dpi=50.0, margin_mm=0.0)
    assert printed.board_mm == (225.0, 150.0)
    assert printed.page_mm == pytest.approx((225.0, 150.0))
    found = make_detector(in_cm)(cv2.copyMakeBorder(_pixels(printed.path), *[20] * 4, 0, 255))
    assert len(found.ids) == in_cm.n_corners


def _pixels(pdf: Path) -> np.ndarray:
    head, _, rest = pdf_objects(pdf.read_bytes())[4].partition(b"stream\n")
    width, height, length = (
        int(re.search(rb"/%s (\d+)" % key, head).group(1))  # type: ignore[union-attr]
        for key in (b"Width", b"Height", b"Length")
    )
    return np.frombuffer(zlib.decompress(rest[:length]), np.uint8).reshape(height, width)


@pytest.mark.parametrize(
    ("board", "out", "message"),
    [
        (Checkerboard(9, 6, 25.0, unit="px"), "b.png", "cannot be printed at true scale"),
        (CHARUCO, "b.svg", "expected a file ending in .png, .pdf"),
        (CHARUCO, "b.png", "lower the dpi"),
    ],
    ids=["unit", "suffix", "too-large"],
)
def test_bad_requests_raise(tmp_path: Path, board: Board, out: str, message: str) -> None:
    with pytest.raises(Pose3dError, match=message):
        render_board(board, tmp_path / out, dpi=5000.0 if message == "lower the dpi" else 300.0)
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize("spec", SHIPPED, ids=[s.name for s in SHIPPED])
def test_shipped_specs_load_and_fit_their_paper(spec: ReadySpec, tmp_path: Path) -> None:
    board = spec.board()
    assert re.search(r"(\d+)x(\d+)_(\d+)mm", spec.name).groups() == (  # type: ignore[union-attr]
        str(board.squares_x),
        str(board.squares_y),
        f"{board.square_length:g}",
    )
    assert spec.paper, f"{spec.name} has no '# paper:' comment"
    printed = render_board(board, tmp_path / "board.png", dpi=40.0)
    assert printed.paper == spec.paper
    assert f"# Print: pose3d board render {spec.name} " in spec.text


def test_shipped_specs_cover_the_usual_boards() -> None:
    names = {s.name for s in SHIPPED}
    assert {"charuco_8x11_24mm_4x4_1000", "checkerboard_9x6_25mm"} <= names
    sleap = ready_spec("charuco_8x11_24mm_4x4_1000.toml").board()
    assert sleap == CharucoBoard(8, 11, 24.0, 18.75, "DICT_4X4_1000")


def test_a_spec_is_a_file_or_a_ready_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = "checkerboard_9x6_25mm"
    assert load_board_spec(name) == Checkerboard(9, 6, 25.0)
    assert load_board_spec(f"{name}.toml") == Checkerboard(9, 6, 25.0)
    monkeypatch.chdir(tmp_path)
    save_board(tmp_path / f"{name}.toml", CHARUCO)  # a file of that name wins
    assert load_board_spec(f"{name}.toml") == CHARUCO
    with pytest.raises(Pose3dError, match=r"spec nope does not exist: .*ready spec \(charuco"):
        load_board_spec("nope")
    with pytest.raises(Pose3dError, match=r"spec .*checkerboard_9x6_25mm\.toml does not exist$"):
        load_board_spec(tmp_path / "sub" / f"{name}.toml")  # a path is never a ready name
    with pytest.raises(Pose3dError, match=r"no ready board spec is called 'nope': expected one of"):
        ready_spec("nope")


def test_cli_lists_shows_and_renders_the_ready_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["board", "list"]) == 0
    listing = capsys.readouterr().out
    for spec in SHIPPED:
        assert f"{spec.description}; {spec.paper}" in listing
    assert "ChArUco board, 5 x 7 squares of 40 mm, 30 mm markers of DICT_4X4_50" in listing
    assert main(["board", "show", "charuco_5x7_40mm_4x4_50"]) == 0
    shown = tmp_path / "board.toml"
    shown.write_text(capsys.readouterr().out, encoding="utf-8")
    assert load_board(shown) == CHARUCO
    out = tmp_path / "board.png"
    render = ["board", "render", "charuco_5x7_40mm_4x4_50", "--out", str(out), "--dpi", "40"]
    assert main(render) == 0
    assert "ChArUco 5x7 squares of 40 mm" in capsys.readouterr().out
    assert main(["board", "show", "nope"]) == EXIT_USER_ERROR
    assert "no ready board spec is called 'nope'" in capsys.readouterr().err


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "board.toml"
    save_board(spec, CHARUCO)
    out = tmp_path / "board.pdf"
    assert main(["board", "render", str(spec), "--out", str(out), "--dpi", "50"]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    text = capsys.readouterr().out
    assert f"wrote {out}: ChArUco 5x7 squares of 40 mm" in text
    assert "board 200.0 x 280.0 mm" in text
    assert "measure a printed square" in text


def test_cli_bad_spec_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "board.toml"
    spec.write_text('type = "charuco"\nsquares_x = 4\nsquares_y = 2\nsquare_length = 30.0\n')
    code = main(["board", "render", str(spec), "--out", str(tmp_path / "b.png")])
    assert code == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: board spec {spec}")
    assert not (tmp_path / "b.png").exists()
