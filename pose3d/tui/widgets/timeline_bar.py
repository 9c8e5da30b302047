"""The timeline: one coloured column per group of frames (empty / hidden / tracked / imported /
manual), red in its lower half where a point is flagged for review, the current frame marked;
a click posts Seek."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

from pose3d.tui.drawing.timeline import FLAGGED, FrameStatus, binned, column_of, frame_at
from pose3d.tui.messages import Seek

STATUS_STYLE = {
    FrameStatus.EMPTY: "grey23",
    FrameStatus.HIDDEN: "grey50",
    FrameStatus.TRACKED: "dodger_blue2",
    FrameStatus.IMPORTED: "medium_purple",
    FrameStatus.MANUAL: "green3",
}
FLAG_STYLE = "red1"
# a column's style by its status (kind | FLAGGED): the kind's colour over the flag's, parsed once
COLUMN_STYLE = {
    kind | flag: Style.parse(f"{style} on {FLAG_STYLE if flag else style}")
    for kind, style in STATUS_STYLE.items()
    for flag in (0, FLAGGED)
}
HERE_STYLE = {
    kind | flag: Style.parse(f"white on {FLAG_STYLE if flag else style}")
    for kind, style in STATUS_STYLE.items()
    for flag in (0, FLAGGED)
}
LEGEND = "  ".join(
    [f"[{style}]█[/] {status.name.lower()}" for status, style in STATUS_STYLE.items()]
    + [f"[{FLAG_STYLE}]▄[/] flagged"]
)
LEGEND_TEXT = Text.from_markup(LEGEND)  # parsed once


class TimelineBar(Widget):
    DEFAULT_CSS = "TimelineBar { height: 2; width: 1fr; }"

    def __init__(self, n_frames: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.n_frames = n_frames
        self.status: NDArray[np.int8] = np.zeros(n_frames, np.int8)
        self.frame = 0

    def update_status(self, status: NDArray[np.int8], frame: int) -> None:
        self.status, self.frame = status, frame
        self.refresh()

    def render(self) -> Text:
        width = max(self.size.width, 1)
        bins = binned(self.status, width)
        here = column_of(self.frame, width, self.n_frames)
        bar = Text()
        cells = bins.tolist()
        start = 0
        for col in range(1, len(cells) + 1):  # one span per run of equal columns
            if col < len(cells) and cells[col] == cells[start] and col != here and start != here:
                continue
            if start == here:
                bar.append("▼", style=HERE_STYLE[cells[start]])
            else:
                bar.append("▀" * (col - start), style=COLUMN_STYLE[cells[start]])
            start = col
        bar.append("\n")
        bar.append(f"frame {self.frame} / {self.n_frames - 1}   ")
        bar.append_text(LEGEND_TEXT)
        return bar

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(Seek(frame_at(event.x, max(self.size.width, 1), self.n_frames)))
