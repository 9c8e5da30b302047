"""The TUI's full screens: Sessions, Views, Label, Calibration and 3D; each calls library
functions and the models of pose3d.tui.state / .drawing / .logic and shows their results (modal
dialogs are in pose3d.tui.dialogs)."""
