"""The TUI's screens: Sessions, Views and Label; each calls library functions and the models of
pose3d.tui (editor, frames, viewport) and shows their results."""
