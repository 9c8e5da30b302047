"""The recently opened sessions, most recent first, in the user's config folder.

Stored as JSON in ``platformdirs.user_config_dir("pose3d")/recent_sessions.json`` (e.g.
``~/.config/pose3d/`` on Linux); ``POSE3D_CONFIG_DIR`` overrides the folder. Nothing is created
until a session is opened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pose3d.io.atomic import atomic_write_text

RECENT_FILE = "recent_sessions.json"
MAX_RECENT = 20


def default_recent_path() -> Path:
    folder = os.environ.get("POSE3D_CONFIG_DIR")
    if folder:
        return Path(folder) / RECENT_FILE
    import platformdirs

    return Path(platformdirs.user_config_dir("pose3d")) / RECENT_FILE


def load_recent(path: Path | None = None) -> list[Path]:
    """The recent session folders (an unreadable file reads as none)."""
    path = path or default_recent_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("sessions", []) if isinstance(data, dict) else []
    return [Path(e) for e in entries if isinstance(e, str)]


def add_recent(root: str | os.PathLike[str], path: Path | None = None) -> list[Path]:
    """Put ``root`` first in the list (written atomically); returns the new list."""
    path = path or default_recent_path()
    root = Path(root).resolve()
    sessions = [root, *(p for p in load_recent(path) if p != root)][:MAX_RECENT]
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"sessions": [str(p) for p in sessions]}, indent=2)
    atomic_write_text(path, text + "\n")
    return sessions
