"""User-facing errors.

Every error a user can cause (a bad file, a wrong name, a locked session) is a `Pose3dError`
whose message says what was expected, what was found and what to do. The CLI prints the message
alone (no traceback unless ``--debug``); the TUI shows it as a notification.
"""

from __future__ import annotations


class Pose3dError(Exception):
    """An error caused by input the user can fix; the message is shown as it is."""


class SchemaError(Pose3dError):
    """A dataset or file does not follow pose3d's data contract."""


class CalibrationError(Pose3dError):
    """A calibration file or camera model is unusable."""


class SessionError(Pose3dError):
    """A session folder or session.toml is unusable."""


class SessionLockedError(SessionError):
    """Another process holds the session's lock."""


class VideoError(Pose3dError):
    """A video file or image folder cannot be read as expected."""
