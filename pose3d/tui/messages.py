"""Every message the TUI's widgets post, declared in one place."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message


class OpenSession(Message):
    """Open the session in ``root`` (posted by the Sessions screen)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root


class PixelClicked(Message):
    """A click on camera ``view``'s image at image pixel (x, y) (labels.nc's convention)."""

    def __init__(self, view: str, x: float, y: float) -> None:
        super().__init__()
        self.view, self.x, self.y = view, x, y


class ViewChosen(Message):
    """A click on a camera's view (outside the image, or in the Views screen)."""

    def __init__(self, view: str) -> None:
        super().__init__()
        self.view = view


class Seek(Message):
    """Go to session frame ``frame`` (a click on the timeline)."""

    def __init__(self, frame: int) -> None:
        super().__init__()
        self.frame = frame


class KeypointChosen(Message):
    """Make ``keypoint`` the current one (a click in the keypoint list)."""

    def __init__(self, keypoint: str) -> None:
        super().__init__()
        self.keypoint = keypoint


class ZoomAt(Message):
    """Zoom camera ``view``'s image by ``factor`` around image pixel (x, y) (the mouse wheel)."""

    def __init__(self, view: str, factor: float, x: float, y: float) -> None:
        super().__init__()
        self.view, self.factor, self.x, self.y = view, factor, x, y
