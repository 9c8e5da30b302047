"""Zoom, pan and the cell -> image pixel mapping, checked against the drawn canvas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pose3d.errors import Pose3dError
from pose3d.tui.drawing.canvas import Marker, draw_frame, draw_markers, image_to_canvas
from pose3d.tui.drawing.viewport import MAX_ZOOM, Viewport


def _coded_image(w: int, h: int) -> np.ndarray:
    """Each pixel's colour encodes its position: R = x % 256, G = y % 256,
    B = x // 256 + 4 (y // 256)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x % 256, y % 256, x // 256 + 4 * (y // 256)], -1).astype(np.uint8)


def _decoded(rgb: np.ndarray) -> tuple[int, int]:
    r, g, b = (int(c) for c in rgb)
    return r + 256 * (b % 4), g + 256 * (b // 4)


def _ramp_image(w: int, h: int) -> np.ndarray:
    """R and G rise linearly with x and y: a code that survives the area averaging of a
    shrunk frame (the average of a ramp is the ramp at the centre)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 / (w - 1), y * 255 / (h - 1), 0 * x], -1).round().astype(np.uint8)


def _ramp_decoded(rgb: np.ndarray, w: int, h: int) -> tuple[float, float]:
    return int(rgb[0]) * (w - 1) / 255, int(rgb[1]) * (h - 1) / 255


def test_fit_shows_the_whole_image_centred() -> None:
    vp = Viewport((640, 480), (80, 24))  # 80 cells x 8 px wide; 24 rows x 16 px = 384 < 480
    assert vp.scale == pytest.approx(10.0)  # height limits: 480 px over 24 rows of 2 cells
    _, y0 = vp.origin
    assert y0 == pytest.approx(-0.5)  # top edge of the image at the top of row 0
    assert vp.cell_to_pixel(40, 12) == pytest.approx((324.5, 249.5))
    assert vp.pixel_to_cell(*vp.cell_to_pixel(7, 3)) == pytest.approx((7, 3))


@pytest.mark.parametrize("zoom", [1.0, 2.0, 3.7, 16.0, MAX_ZOOM])
@pytest.mark.parametrize("px_per_cell", [(1, 2), (8, 16)])
def test_a_cell_maps_to_the_pixel_it_shows(zoom: float, px_per_cell: tuple[int, int]) -> None:
    vp = Viewport((640, 480), (60, 20), zoom=1.0).zoomed(zoom, around=(401.0, 133.0)).clamped()
    sx = vp.scale / px_per_cell[0]
    sy = vp.scale * vp.cell_aspect / px_per_cell[1]
    shrunk = sx > 1.5 and sy > 1.5  # draw_frame averages the pixels a canvas pixel covers
    image = _ramp_image(640, 480) if shrunk else _coded_image(640, 480)
    canvas = draw_frame(image, vp, px_per_cell)
    assert canvas.shape == (20 * px_per_cell[1], 60 * px_per_cell[0], 3)
    for col, row in [(0, 0), (59, 19), (30, 10), (17, 4), (45, 13)]:
        x, y = vp.cell_to_pixel(col, row)
        # the canvas pixel at the middle of the cell
        u = col * px_per_cell[0] + px_per_cell[0] // 2
        v = row * px_per_cell[1] + px_per_cell[1] // 2
        shown = _ramp_decoded(canvas[v, u], 640, 480) if shrunk else _decoded(canvas[v, u])
        if not (-0.5 <= x < 639.5 and -0.5 <= y < 479.5):
            continue
        tolerance = max(1.0, vp.scale / px_per_cell[0]) + (2.0 if shrunk else 0.5)
        assert abs(shown[0] - x) <= tolerance
        assert abs(shown[1] - y) <= tolerance + vp.scale * vp.cell_aspect / px_per_cell[1]
        if zoom >= 16:  # zoomed in: a canvas pixel shows exactly the image pixel under it
            x0, y0 = vp.origin
            sx = vp.scale / px_per_cell[0]
            sy = vp.scale * vp.cell_aspect / px_per_cell[1]
            assert shown == (round(x0 + (u + 0.5) * sx), round(y0 + (v + 0.5) * sy))


@pytest.mark.parametrize("zoom", [1.0, 2.0, 3.7])
def test_a_shrunk_frame_shows_the_pixels_around_each_canvas_pixel(zoom: float) -> None:
    """Fitting a large frame averages the pixels each canvas pixel covers (cv2.INTER_AREA)
    without moving the picture: each canvas pixel shows the average around the image point the
    viewport maps it to, within the 8-bit ramp's quantisation (a shift of half a shrunk pixel
    would be sx / 2 = 6 px at zoom 1)."""
    vp = Viewport((640, 480), (60, 20), zoom=1.0).zoomed(zoom, around=(401.0, 133.0)).clamped()
    canvas = draw_frame(_ramp_image(640, 480), vp, (1, 2))
    x0, y0 = vp.origin
    sx, sy = vp.scale, vp.scale * vp.cell_aspect / 2
    errors = []
    for v in range(canvas.shape[0]):
        for u in range(canvas.shape[1]):
            x, y = x0 + (u + 0.5) * sx, y0 + (v + 0.5) * sy
            if 2 * sx <= x < 640 - 2 * sx and 2 * sy <= y < 480 - 2 * sy:
                shown = _ramp_decoded(canvas[v, u], 640, 480)
                errors.append(max(abs(shown[0] - x), abs(shown[1] - y)))
    assert errors and max(errors) <= 2.5


def test_zoom_keeps_the_point_under_the_cursor_and_pan_moves_by_cells() -> None:
    vp = Viewport((1280, 1024), (100, 40))
    around = (900.0, 100.0)
    before = vp.pixel_to_cell(*around)
    zoomed = vp.zoomed(4, around=around)
    assert zoomed.pixel_to_cell(*around) == pytest.approx(before)
    assert zoomed.scale == pytest.approx(vp.scale / 4)
    panned = zoomed.panned(3, -2)
    assert panned.cell_to_pixel(0, 0) == pytest.approx(zoomed.cell_to_pixel(3, -2))
    assert vp.zoomed(0.1).zoom == 1.0  # never smaller than the fit
    assert vp.fitted() == Viewport((1280, 1024), (100, 40))


def test_clamp_keeps_the_image_in_view() -> None:
    vp = Viewport((640, 480), (60, 20), zoom=4).panned(-1000, -1000).clamped()
    x0, y0 = vp.origin
    assert x0 == pytest.approx(-0.5) and y0 == pytest.approx(-0.5)
    fit = Viewport((640, 480), (60, 20)).panned(50, 0).clamped()
    assert fit.middle == pytest.approx((319.5, 239.5))


def test_markers_are_drawn_where_the_mapping_says() -> None:
    vp = Viewport((200, 100), (50, 25), zoom=2, center=(50.0, 50.0))
    canvas = np.zeros((50, 50, 3), np.uint8)
    draw_markers(canvas, vp, [Marker(60.0, 40.0, (0, 255, 0))], (1, 2))
    u, v = image_to_canvas(vp, (1, 2), 60.0, 40.0)
    assert tuple(canvas[round(v), round(u)]) == (0, 255, 0)
    col, row = vp.pixel_to_cell(60.0, 40.0)
    assert (round(u), round(v)) == (round(col), round(2 * row + 0.5))


def test_not_filmed_views_and_bad_sizes() -> None:
    vp = Viewport((64, 48), (8, 4))
    assert draw_frame(None, vp).shape == (8, 8, 3)
    with pytest.raises(Pose3dError, match="at least 1x1"):
        Viewport((64, 48), (0, 4))


def test_bones_join_the_points_that_exist() -> None:
    from pose3d.tui.drawing.canvas import draw_bones

    vp = Viewport((100, 50), (100, 25))  # one image pixel per canvas pixel with (1, 2)
    canvas = np.zeros((50, 100, 3), np.uint8)
    position = np.full((2, 3, 1), np.nan)
    position[:, 0, 0] = (10.0, 10.0)
    position[:, 1, 0] = (50.0, 10.0)  # keypoint 2 missing: its edge is not drawn
    draw_bones(canvas, vp, position, [(0, 1), (1, 2)], (1, 2), color=(255, 0, 0))
    assert (canvas[10, 10:51, 0] == 255).all()
    assert canvas[:, :, 0].sum() == 255 * 41


def test_each_individual_has_its_own_marker_shape_filled_when_manual() -> None:
    from pose3d.schema import PointSource
    from pose3d.tui.drawing.canvas import label_markers
    from pose3d.tui.drawing.palette import INDIVIDUAL_SHAPES, individual_glyph

    position = np.full((2, 1, 3), 50.0)  # (2, K, I): one keypoint, three individuals
    source = np.array([[PointSource.MANUAL, PointSource.TRACKED, PointSource.MANUAL]])
    markers = label_markers(position, source, np.zeros((1, 3), bool), [(0, 255, 0)])
    assert [m.shape for m in markers] == list(INDIVIDUAL_SHAPES[:3])
    assert [m.manual for m in markers] == [True, False, True]
    assert len({individual_glyph(i) for i in range(len(INDIVIDUAL_SHAPES))}) == 5
    vp = Viewport((100, 100), (40, 20), zoom=4.0, center=(50.0, 50.0))
    drawn = []
    for m in markers:
        canvas = draw_markers(np.zeros((40, 40, 3), np.uint8), vp, [m], (1, 2))
        drawn.append((canvas[..., 1] > 0).astype(np.uint8))
    circle, square, diamond = drawn
    assert len({a.tobytes() for a in drawn}) == 3  # three different pictures
    assert square.sum() < circle.sum() or square.sum() < 25  # the square is an outline (tracked)
    assert diamond[20, 20] == 1 and circle[20, 20] == 1 and square[20, 20] == 0


def test_a_reprojected_point_is_hollow_with_a_centre_dot() -> None:
    from dataclasses import replace

    from pose3d.schema import PointSource
    from pose3d.tui.drawing.canvas import label_markers

    position = np.full((2, 1, 2), 50.0)  # one keypoint, two individuals (both circles)
    source = np.array([[PointSource.TRACKED, PointSource.REPROJECTED]])
    markers = label_markers(position, source, np.zeros((1, 2), bool), [(0, 255, 0)])
    markers = [replace(m, shape="circle") for m in markers]
    assert [m.reprojected for m in markers] == [False, True]
    vp = Viewport((100, 100), (40, 20), zoom=4.0, center=(50.0, 50.0))
    tracked, reprojected = (
        draw_markers(np.zeros((40, 40, 3), np.uint8), vp, [m], (1, 2))[..., 1] > 0 for m in markers
    )
    centre = np.unravel_index(np.argmax(reprojected ^ tracked), tracked.shape)
    assert (reprojected & ~tracked).sum() == 1 and not tracked[centre]
    assert (tracked & ~reprojected).sum() == 0


def test_the_marker_style_sizes_the_markers_or_hides_them() -> None:
    from pose3d.schema import PointSource
    from pose3d.tui.drawing.canvas import SIZES, MarkerStyle, label_markers

    position = np.full((2, 1, 1), 50.0)
    source = np.array([[PointSource.MANUAL]])
    review = np.zeros((1, 1), bool)
    vp = Viewport((100, 100), (40, 20), zoom=4.0, center=(50.0, 50.0))
    covered = []
    for size in SIZES:
        (marker,) = label_markers(
            position, source, review, [(0, 255, 0)], style=MarkerStyle(size=size)
        )
        drawn = draw_markers(np.zeros((40, 40, 3), np.uint8), vp, [marker], (1, 2))
        covered.append(int((drawn[..., 1] > 0).sum()))
    assert covered == sorted(covered) and covered[0] < covered[1] < covered[-1]
    assert (
        label_markers(position, source, review, [(0, 255, 0)], style=MarkerStyle(shown=False)) == []
    )
    style = MarkerStyle()
    assert [style.next_size().size, style.next_size().next_size().next_size().size] == [1.5, 0.5]
    assert not style.toggled().shown and style.toggled().toggled() == style


def test_names_beside_markers_never_overwrite_each_other() -> None:
    from pose3d.tui.drawing.canvas import marker_texts

    vp = Viewport((100, 100), (100, 50), zoom=1.0, center=(49.5, 49.5))
    row_y = 20.0
    markers = [
        Marker(10.0, row_y, (255, 0, 0), name="shoulder_left"),
        Marker(18.0, row_y, (0, 255, 0), name="neck"),
        Marker(19.0, row_y, (0, 0, 255), name="nose"),  # one cell after the neck's marker
        Marker(60.0, row_y, (9, 9, 9), name="tail"),
        Marker(60.0, 70.0, (9, 9, 9), name="paw"),  # another row
    ]
    texts = marker_texts(markers, vp, (1, 2))
    spans = sorted((row, col, col + len(name)) for row, col, name, _ in texts)
    for (r1, _, end), (r2, start, _) in itertools.pairwise(spans):
        assert r1 != r2 or end < start  # a cell apart at least
    names = {name for _, _, name, _ in texts}
    assert "tail" in names and "paw" in names
    assert len(names & {"neck", "nose"}) == 1  # one cell apart: room for one of the two only
    assert any(n.startswith("sho") and len(n) < len("shoulder_left") for n in names)
