"""Printable calibration boards at true scale: a PNG that carries its physical resolution, or a
one-page PDF whose page is the board plus a white margin.

The pixels come from `pose3d.calibration.board_image` (OpenCV's own ChArUco drawing), with every
square a whole number of pixels: the resolution is the one nearest to the requested dpi that
allows it (300 dpi and 40 mm squares: 472 px squares, 299.7 dpi), and that exact resolution is
what the PNG's pHYs chunk and the PDF's page size state, so a square prints at its spec length.
Both formats are written by hand (PNG: OpenCV's encoder plus a pHYs chunk; PDF: one page, one
Flate-compressed grey image), with no other library.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pose3d.board import Board, CharucoBoard
from pose3d.calibration.board_image import board_image
from pose3d.errors import Pose3dError
from pose3d.io.atomic import atomic_write_bytes

MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0
MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": MM_PER_INCH}
DEFAULT_DPI = 300.0
DEFAULT_MARGIN_MM = 10.0
MAX_PIXELS = 32000  # per side, board_image's limit
# Printers leave about this much of every paper edge blank.
PRINTER_EDGE_MM = 5.0
PAPER_MM = {
    "A4": (210.0, 297.0),
    "US Letter": (215.9, 279.4),
    "A3": (297.0, 420.0),
    "A2": (420.0, 594.0),
    "A1": (594.0, 841.0),
    "A0": (841.0, 1189.0),
}


@dataclass(frozen=True)
class PrintedBoard:
    """A board written for printing: ``pixels`` (width, height) of the image at ``dpi`` (its
    exact resolution), ``board_mm`` and ``page_mm`` (board plus margins) as (width, height)."""

    path: Path
    board: Board
    pixels: tuple[int, int]
    dpi: float
    board_mm: tuple[float, float]
    page_mm: tuple[float, float]

    @property
    def paper(self) -> str | None:
        """The smallest paper (portrait or landscape) whose printable area holds the board."""
        need = sorted(size + 2 * PRINTER_EDGE_MM for size in self.board_mm)
        for name, size in PAPER_MM.items():
            if need[0] <= size[0] and need[1] <= size[1]:
                portrait = self.board_mm[0] <= self.board_mm[1]
                return f"{name} {'portrait' if portrait else 'landscape'}"
        return None

    def summary(self) -> list[str]:
        board, unit = self.board, self.board.unit
        kind = f"{board.squares_x}x{board.squares_y} squares of {board.square_length:g} {unit}"
        if isinstance(board, CharucoBoard):
            legacy = ", legacy pattern" if board.legacy else ""
            kind = (
                f"ChArUco {kind}, markers {board.marker_length:g} {unit} ({board.dictionary}"
                f"{legacy})"
            )
        else:
            kind = f"checkerboard {kind}"
        paper = self.paper
        fits = f"fits {paper}" if paper else "larger than A0: print it in tiles or at a print shop"
        return [
            f"wrote {self.path}: {kind}",
            f"printed size: board {_mm(self.board_mm)} mm, page {_mm(self.page_mm)} mm with "
            f"margins; {fits}; image {self.pixels[0]}x{self.pixels[1]} px at {self.dpi:.1f} dpi",
            "print at 100 % (actual size, no fit-to-page), fix it flat on a rigid backing, then "
            "measure a printed square and put the measured length in the spec as square_length "
            "(and marker_length scaled alike)",
        ]


def render_board(
    board: Board,
    out: str | os.PathLike[str],
    dpi: float = DEFAULT_DPI,
    margin_mm: float = DEFAULT_MARGIN_MM,
) -> PrintedBoard:
    """Write ``board`` at true scale to ``out`` (.png or .pdf) with a white ``margin_mm``."""
    out = Path(out)
    writer = _WRITERS.get(out.suffix.lower())
    if writer is None:
        raise Pose3dError(
            f"cannot write a board to {out}: expected a file ending in {', '.join(_WRITERS)}"
        )
    mm_per_unit = _mm_per_unit(board)
    if not (np.isfinite(dpi) and dpi > 0):
        raise Pose3dError(f"dpi must be a positive number, got {dpi}")
    if not (np.isfinite(margin_mm) and margin_mm >= 0):
        raise Pose3dError(f"the margin must be >= 0 mm, got {margin_mm}")
    px_per_mm = dpi / MM_PER_INCH
    longest = (max(board.size) * mm_per_unit + 2 * margin_mm) * px_per_mm
    if longest > MAX_PIXELS:
        raise Pose3dError(
            f"at {dpi:g} dpi the board image would be {longest:.0f} px long, more than "
            f"{MAX_PIXELS}; lower the dpi (e.g. {int(dpi * MAX_PIXELS / longest)})"
        )
    drawn = board_image(board, px_per_mm * mm_per_unit, margin_mm / mm_per_unit)
    exact_px_per_mm = drawn.px_per_unit / mm_per_unit
    height, width = drawn.image.shape
    page_mm = (width / exact_px_per_mm, height / exact_px_per_mm)
    writer(out, drawn.image, exact_px_per_mm, page_mm)
    board_mm = (board.size[0] * mm_per_unit, board.size[1] * mm_per_unit)
    return PrintedBoard(
        out, board, (width, height), exact_px_per_mm * MM_PER_INCH, board_mm, page_mm
    )


def _mm_per_unit(board: Board) -> float:
    unit = board.unit.lower()
    if unit not in MM_PER_UNIT:
        raise Pose3dError(
            f"a board in {board.unit!r} cannot be printed at true scale; give its lengths in "
            f'{", ".join(MM_PER_UNIT)} (unit = "mm" in the board spec)'
        )
    return MM_PER_UNIT[unit]


def _mm(size: tuple[float, float]) -> str:
    return f"{size[0]:.1f} x {size[1]:.1f}"


Writer = Callable[[Path, NDArray[np.uint8], float, tuple[float, float]], None]


def write_png(
    path: Path, image: NDArray[np.uint8], px_per_mm: float, page_mm: tuple[float, float]
) -> None:
    """A grey PNG whose pHYs chunk states ``px_per_mm`` (so it prints at true size)."""
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise Pose3dError(f"could not encode {path} as PNG")
    data = encoded.tobytes()
    ihdr_end = 8 + 8 + 13 + 4  # signature, then IHDR: length, type, 13 data bytes, CRC
    per_metre = round(px_per_mm * 1000.0)
    phys = _png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    atomic_write_bytes(path, data[:ihdr_end] + phys + data[ihdr_end:])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def write_pdf(
    path: Path, image: NDArray[np.uint8], px_per_mm: float, page_mm: tuple[float, float]
) -> None:
    """A one-page PDF of ``page_mm`` whose page is covered by the grey ``image``."""
    height, width = image.shape
    points = POINTS_PER_INCH / MM_PER_INCH
    page_w, page_h = page_mm[0] * points, page_mm[1] * points
    pixels = zlib.compress(np.ascontiguousarray(image, dtype=np.uint8).tobytes(), 9)
    drawing = f"q {page_w:.4f} 0 0 {page_h:.4f} 0 0 cm /Im0 Do Q\n".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.4f} {page_h:.4f}] "
            "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"
        ).encode("ascii"),
        _pdf_stream(
            f"/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace "
            "/DeviceGray /BitsPerComponent 8 /Interpolate false /Filter /FlateDecode",
            pixels,
        ),
        _pdf_stream("", drawing),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode("ascii")
    atomic_write_bytes(path, bytes(out))


def _pdf_stream(entries: str, data: bytes) -> bytes:
    head = f"<< {entries} /Length {len(data)} >>\nstream\n".encode("ascii")
    return head + data + b"\nendstream"


_WRITERS: dict[str, Writer] = {".png": write_png, ".pdf": write_pdf}
