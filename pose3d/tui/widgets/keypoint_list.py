"""The keypoints in their colours, the current one highlighted, each with where its point came
from on this frame and view, drawn with the current individual's marker glyph (filled: manual,
hollow: a tool's; ⊘ and "hidden" where someone said the keypoint is not visible here); below,
the legend of the individuals' marker shapes. A list longer than the panel shows the part around
the current keypoint ("↑ N more" / "↓ N more"), so that the legend stays in view. A click on a
keypoint posts KeypointChosen."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.widget import Widget

from pose3d import schema as s
from pose3d.tui.drawing.palette import RGB8, hex_color, individual_glyph
from pose3d.tui.messages import KeypointChosen

SOURCE_TEXT = {
    s.PointSource.NONE: "—",
    s.PointSource.MANUAL: "manual",
    s.PointSource.TRACKED: "tracked",
    s.PointSource.IMPORTED: "imported",
    s.PointSource.REPROJECTED: "reproj.",
}
HIDDEN_TEXT = {  # who says the keypoint is hidden (short: the panel is narrow)
    s.PointSource.MANUAL: "hidden",
    s.PointSource.TRACKED: "tr. hidden",
    s.PointSource.IMPORTED: "imp. hidden",
    s.PointSource.REPROJECTED: "rp. hidden",
}


class KeypointList(Widget):
    DEFAULT_CSS = "KeypointList { height: 1fr; width: 1fr; }"

    def __init__(
        self,
        keypoints: Sequence[str],
        colors: Sequence[RGB8],
        individuals: Sequence[str] = ("individual_0",),
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.keypoints = tuple(keypoints)
        self.keypoint_colors = tuple(colors)
        self.individuals = tuple(individuals)
        self.individual = 0  # index of the current individual
        self.current = self.keypoints[0]
        self.sources: tuple[s.PointSource, ...] = (s.PointSource.NONE,) * len(self.keypoints)
        self.flagged: tuple[bool, ...] = (False,) * len(self.keypoints)
        self.hidden: tuple[bool, ...] = (False,) * len(self.keypoints)
        self.first = 0  # the first keypoint shown (a list longer than the panel scrolls)

    def update_points(
        self,
        current: str,
        sources: Sequence[s.PointSource],
        flagged: Sequence[bool],
        individual: int = 0,
        hidden: Sequence[bool] | None = None,
    ) -> None:
        self.current, self.sources, self.flagged = current, tuple(sources), tuple(flagged)
        self.hidden = tuple(hidden) if hidden is not None else (False,) * len(self.keypoints)
        self.individual = individual
        self.refresh()  # one line per keypoint and the legend: the height never changes

    def shown(self) -> tuple[int, int]:
        """The keypoints [first, stop) the panel has room for, the current one among them."""
        n = len(self.keypoints)
        room = max(1, self.size.height - 1 - len(self.individuals)) if self.size.height else n
        if n <= room:
            return 0, n
        rows = max(1, room - 2)  # the lines left for keypoints beside "↑ more" and "↓ more"
        here = self.keypoints.index(self.current)
        if not self.first <= here < self.first + rows:
            self.first = here - rows // 2
        self.first = min(max(self.first, 0), n - rows)
        return self.first, self.first + rows

    def render(self) -> Text:
        out = Text()
        first, stop = self.shown()
        if (first, stop) != (0, len(self.keypoints)):
            out.append(f"↑ {first} more\n" if first else "\n", style="dim")
        for k in range(first, stop):
            name = self.keypoints[k]
            mark = "▶ " if name == self.current else "  "
            line = Text(mark, style="bold")
            tools = self.sources[k] not in (s.PointSource.NONE, s.PointSource.MANUAL)
            glyph = "⊘" if self.hidden[k] else individual_glyph(self.individual, filled=not tools)
            line.append(f"{glyph} ", style=hex_color(self.keypoint_colors[k]))
            line.append(f"{name:<18.18}", style="reverse bold" if name == self.current else "")
            line.append(f" {_state(self.sources[k], self.hidden[k])}", style="dim")
            if self.flagged[k]:
                line.append(" ⚑", style="red")
            out.append_text(line)
            out.append("\n")
        if (first, stop) != (0, len(self.keypoints)):
            below = len(self.keypoints) - stop
            out.append(f"↓ {below} more\n" if below else "\n", style="dim")
        out.append(f"individuals ({individual_glyph(0, filled=False)}: tracked)", style="dim")
        for i, name in enumerate(self.individuals):
            here = i == self.individual
            out.append(f"\n{'▶ ' if here else '  '}{individual_glyph(i)} ", style="bold")
            out.append(name, style="reverse bold" if here else "")
        return out

    def on_click(self, event: events.Click) -> None:
        event.stop()
        first, stop = self.shown()
        row = event.y - (0 if (first, stop) == (0, len(self.keypoints)) else 1)
        if 0 <= row < stop - first:
            self.post_message(KeypointChosen(self.keypoints[first + row]))


def _state(source: s.PointSource, hidden: bool) -> str:
    """What the list says of one keypoint: its point's source, or who said it is hidden."""
    if not hidden:
        return SOURCE_TEXT[source]
    return HIDDEN_TEXT.get(source, "hidden")
