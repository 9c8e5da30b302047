"""The interactive viewer: the off-screen scene code plus a time slider, play / pause, trails
and a reprojection-error colouring toggle.

Keys: space = play / pause, right / left = next / previous frame, t = trails on / off,
e = colour by reprojection error on / off. The same toggles are check boxes in the lower left.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import xarray as xr

from pose3d import schema as s
from pose3d.cameras import CameraGroup
from pose3d.viewer.render import DEFAULT_OPTIONS, DEFAULT_SIZE, SceneOptions, SceneView, open_view

DEFAULT_TRAIL = 10  # frames the trail toggle shows when no --trail was given
_BUTTON = 30  # px: size of a check box
_TICK_MS = 33  # timer period while playing (~30 frames per second at most)
PLAY, TRAILS, ERROR_COLORS = "play (space)", "trails (t)", "error colours (e)"


class ViewerWindow:
    """A PyVista window on ``poses``; construct it, then :meth:`show` (blocks until closed).

    ``off_screen=True`` builds the same plotter and widgets without a display (for tests).
    """

    def __init__(
        self,
        poses: xr.Dataset,
        cameras: CameraGroup | None = None,
        options: SceneOptions = DEFAULT_OPTIONS,
        *,
        frame: int = 0,
        view: str | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
        off_screen: bool = False,
    ) -> None:
        self.n_frames = int(poses.sizes[s.TIME])
        self.trail_length = options.trail or DEFAULT_TRAIL
        self.playing = False
        self.scene_view: SceneView = open_view(
            poses, cameras, options, view=view, size=size, off_screen=off_screen
        )
        self.scene_view.show_frame(frame)
        self.slider: Any = None
        self.slider = self._add_slider(frame)
        self.buttons = self._add_buttons(options)
        self._add_keys()

    @property
    def plotter(self) -> Any:
        return self.scene_view.plotter

    @property
    def frame(self) -> int:
        scene = self.scene_view.scene
        return 0 if scene is None else scene.frame

    @property
    def options(self) -> SceneOptions:
        return self.scene_view.options

    def go_to(self, frame: int) -> None:
        """Show ``frame`` (wrapped into range) and move the slider there."""
        frame %= self.n_frames
        if frame != self.frame:
            self.scene_view.show_frame(frame)
        if self.slider is not None and round(self.slider.GetRepresentation().GetValue()) != frame:
            self.slider.GetRepresentation().SetValue(frame)
        self.plotter.render()

    def set_options(self, **changes: Any) -> None:
        """Redraw the current frame with ``changes`` to the :class:`SceneOptions`."""
        self.scene_view.options = replace(self.options, **changes)
        self.scene_view.show_frame(self.frame)
        self.plotter.render()

    def toggle_play(self) -> None:
        self._press(PLAY)

    def toggle_trails(self) -> None:
        self._press(TRAILS)

    def toggle_error_colors(self) -> None:
        self._press(ERROR_COLORS)

    def tick(self, *_: object) -> None:
        """One timer step: the next frame while playing."""
        if self.playing:
            self.go_to(self.frame + 1)

    def show(self) -> None:
        """Open the window and block until it is closed."""
        self.plotter.add_timer_event(max_steps=2**31 - 1, duration=_TICK_MS, callback=self.tick)
        self.plotter.show(title="pose3d view")

    def _add_slider(self, frame: int) -> Any:
        return self.plotter.add_slider_widget(
            lambda value: self.go_to(round(value)),
            rng=[0, max(self.n_frames - 1, 1)],
            value=frame,
            title="frame",
            fmt="%.0f",
            pointa=(0.35, 0.08),
            pointb=(0.95, 0.08),
            style="modern",
            interaction_event="always",
            color="black",
        )

    def _add_buttons(self, options: SceneOptions) -> dict[str, Any]:
        specs = (
            (PLAY, self.playing, self._set_playing),
            (TRAILS, bool(options.trail), self._set_trails),
            (ERROR_COLORS, options.color_by_error, self._set_error_colors),
        )
        buttons = {}
        for row, (label, value, callback) in enumerate(specs):
            y = 10 + row * (_BUTTON + 8)
            buttons[label] = self.plotter.add_checkbox_button_widget(
                callback, value=value, position=(10, y), size=_BUTTON, color_on="steelblue"
            )
            self.plotter.add_text(label, position=(_BUTTON + 18, y + 6), font_size=9, color="black")
        return buttons

    def _set_playing(self, on: bool) -> None:
        self.playing = bool(on)

    def _set_trails(self, on: bool) -> None:
        self.set_options(trail=self.trail_length if on else 0)

    def _set_error_colors(self, on: bool) -> None:
        self.set_options(color_by_error=bool(on))

    def _add_keys(self) -> None:
        for key, action in (
            ("space", self.toggle_play),
            ("Right", lambda: self.go_to(self.frame + 1)),
            ("Left", lambda: self.go_to(self.frame - 1)),
            ("t", self.toggle_trails),
            ("e", self.toggle_error_colors),
        ):
            self.plotter.add_key_event(key, action)

    def _press(self, label: str) -> None:
        """Flip a check box as a click would (its callback then does the work)."""
        rep = self.buttons[label].GetRepresentation()
        rep.SetState(1 - rep.GetState())
        self.buttons[label].InvokeEvent("StateChangedEvent")
