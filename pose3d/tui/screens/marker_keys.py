"""What Views and Label share about how labels are drawn: ``v`` hides them (to see the animal),
``m`` changes the markers' size, ``N`` writes the keypoints' names beside them. The choice is
the open session's (Workspace.marker_style), so both screens show it."""

from __future__ import annotations

from textual.screen import Screen

from pose3d.tui.state.workspace import Workspace


class MarkerStyleScreen(Screen[None]):
    """A screen that draws labels; ``redraw_labels`` draws them again after a change."""

    workspace: Workspace

    def redraw_labels(self) -> None:
        raise NotImplementedError

    def action_toggle_labels(self) -> None:
        """Hide the labels (markers and bones) to see the animal under them, or show them."""
        self.workspace.marker_style = self.workspace.marker_style.toggled()
        self.redraw_labels()

    def action_toggle_names(self) -> None:
        """Write each keypoint's name beside its marker, or stop."""
        self.workspace.marker_style = self.workspace.marker_style.with_names()
        self.redraw_labels()

    def action_marker_size(self) -> None:
        self.workspace.marker_style = self.workspace.marker_style.next_size()
        self.notify(f"markers {self.workspace.marker_style.size:g}x", timeout=2)
        self.redraw_labels()
