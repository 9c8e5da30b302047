"""The half-cell renderer: each cell's ▀ has the upper pixel as colour, the lower as background."""

from __future__ import annotations

import numpy as np

from pose3d.tui.widgets.halfcell import COLOR_MASK, UPPER_HALF, halfcell_strips


def test_each_cell_shows_its_two_pixels_and_equal_cells_merge() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    rgb[0:2, 3:5] = (10, 20, 30)  # two equal cells side by side in row 0
    strips = halfcell_strips(rgb)
    rgb = rgb & COLOR_MASK  # what is shown: 6 bits per channel
    assert len(strips) == 3
    for row, strip in enumerate(strips):
        assert strip.cell_length == 5
        col = 0
        for segment in strip:
            assert set(segment.text) == {UPPER_HALF}
            style = segment.style
            assert style is not None and style.color is not None and style.bgcolor is not None
            for c in range(col, col + len(segment.text)):
                assert style.color.get_truecolor() == tuple(rgb[2 * row, c])
                assert style.bgcolor.get_truecolor() == tuple(rgb[2 * row + 1, c])
            col += len(segment.text)
    assert [len(s.text) for s in strips[0]][-1] == 2  # the equal pair is one segment


def test_an_odd_last_row_is_doubled() -> None:
    rgb = np.zeros((3, 2, 3), np.uint8)
    rgb[2] = 200  # a multiple of 4: shown as it is
    (_, last) = halfcell_strips(rgb)
    (segment,) = list(last)
    assert segment.style.color.get_truecolor() == (200, 200, 200)
    assert segment.style.bgcolor.get_truecolor() == (200, 200, 200)


def test_truecolor_styles_carry_the_escape_codes_textual_would_write() -> None:
    from rich.color import ColorSystem
    from rich.style import Style
    from textual.strip import Strip

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (4, 7, 3), dtype=np.uint8)
    for strip in halfcell_strips(rgb, truecolor=True):
        for segment in strip:
            style = segment.style
            assert style is not None
            plain = Style(color=style.color, bgcolor=style.bgcolor)  # no codes cached on it
            assert style._ansi == Strip.render_ansi(plain, ColorSystem.TRUECOLOR)
    # another colour system computes its own codes: nothing is cached on those styles
    (segment, *_) = list(halfcell_strips(rgb[:2, :1] ^ 0x80)[0])
    assert segment.style is not None and segment.style._ansi is None


def test_texts_are_written_over_the_cells_and_cut_at_the_edge() -> None:
    rgb = np.zeros((4, 10, 3), np.uint8)
    rgb[..., 1] = 200
    strips = halfcell_strips(rgb, texts=[(1, 3, "nose", (255, 0, 0)), (0, 8, "tail", (0, 0, 255))])
    assert strips[1].text == "▀▀▀nose▀▀▀" and strips[1].cell_length == 10
    assert strips[0].text == "▀▀▀▀▀▀▀▀ta" and strips[0].cell_length == 10
    (written,) = [seg for seg in strips[1] if seg.text == "nose"]
    assert written.style is not None and written.style.color.triplet == (255, 0, 0)
