"""The TUI's widgets: they draw and post messages (pose3d.tui.messages); they compute nothing."""
