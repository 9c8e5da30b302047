"""Check boxes and radio buttons whose mark shows their state without colour: Textual draws the
same X (or dot) on and off and tells them apart by colour alone, which a 256-colour or
monochrome terminal, tmux's capture and colour-blind eyes lose. Here the mark is there when on,
blank when off."""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class Check(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class Radio(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "
