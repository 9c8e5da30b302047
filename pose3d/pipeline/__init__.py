"""The session verbs: the only code that knows the session folder.

- folder: SessionFolder (session.toml, the lock, every artefact loaded and saved once)
- session: ``pose3d init`` / ``pose3d info`` (create a folder, say what it holds)
- calibrate, track, triangulate (+ sync), labels_io (import / export): each takes a
  SessionFolder, calls its domain package with data and writes once

Entry points (pose3d.commands, pose3d.tui) call these; the domain packages (calibration,
tracking, triangulation, io formats) take and return datasets and arrays.
"""
