"""Modal screens: New session, Propagate (with its run), Jump to frame."""
