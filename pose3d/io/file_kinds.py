"""What a path is when it is not the plain file it should be. Opening a FIFO can block forever
and writing through a symbolic link changes another file, so the readers and writers of
session files ask first and name what they found."""

from __future__ import annotations

import stat

REGULAR = "a regular file"
FOLDER = "a folder"


def kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode`` of a stat or lstat) is, in words."""
    if stat.S_ISREG(mode):
        return REGULAR
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"
