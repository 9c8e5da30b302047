"""``SESSION/.pose3d/``: what ``pose3d batch`` remembers about a session.

- ``steps.json``: per step, the key it last ran with (a hash of its inputs' contents, its
  parameters and pose3d's version), what came of it and when; a rerun skips a step whose key
  is unchanged and that succeeded.
- ``digests.json``: the content hash of each input file by path, size, modification time and
  inode, so that a rerun does not read a session's videos again to know they did not change.
- ``logs/STEP.log``: the last run of each step, its progress and, when it failed, the traceback.

Every file is written atomically by the task that holds the session's lock. A session folder
may come from elsewhere, so ``.pose3d`` that is not a folder (a symbolic link above all) is
refused, and a record or digest file that does not read as what pose3d writes is ignored (the
steps rerun): it can only cost time, never a wrong "up to date".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pose3d.errors import SessionError
from pose3d.io.atomic import atomic_write_text
from pose3d.io.file_kinds import kind

STATE_DIR = ".pose3d"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class StepRecord:
    """What came of a step's last run on a session."""

    step: str
    key: str
    status: str  # "done" or "failed"
    finished: str  # ISO 8601, UTC
    seconds: float
    summary: str = ""  # one line: what it did, or the error
    fingerprint: dict[str, Any] = field(default_factory=dict)  # what the key hashes
    version: str = ""
    host: str = ""


class SessionState:
    """The ``.pose3d`` folder of session folder ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.dir = self.root / STATE_DIR

    @property
    def steps_file(self) -> Path:
        return self.dir / "steps.json"

    @property
    def digests_file(self) -> Path:
        return self.dir / "digests.json"

    def log_path(self, step: str) -> Path:
        return self.dir / "logs" / f"{step}.log"

    def make(self) -> None:
        """Create ``.pose3d/logs`` (refusing a ``.pose3d`` or ``logs`` that is not a folder)."""
        for folder in (self.dir, self.dir / "logs"):
            with contextlib.suppress(FileExistsError):
                folder.mkdir()
            mode = folder.lstat().st_mode
            if not stat.S_ISDIR(mode):
                raise SessionError(
                    f"{folder} is {kind(mode)}, not a folder: pose3d batch keeps its records "
                    "there; move it away and run again"
                )

    def records(self) -> dict[str, StepRecord]:
        """Each step's record; {} when there is none or it does not read as pose3d's."""
        data = _read_json(self.steps_file)
        records = {}
        for name, value in data.items():
            try:
                records[name] = StepRecord(**value)
            except TypeError:
                continue
            if not isinstance(records[name].key, str) or records[name].step != name:
                del records[name]
        return records

    def save_record(self, record: StepRecord) -> None:
        """Write ``record`` into steps.json, keeping the other steps' (under the lock)."""
        self.make()
        data = {name: asdict(r) for name, r in self.records().items()}
        data[record.step] = asdict(record)
        atomic_write_text(self.steps_file, json.dumps(data, indent=1, sort_keys=True) + "\n")


class Digests:
    """Content hashes (SHA-256) of files, cached in ``digests.json`` by path, size,
    modification time and inode: a file is read again only when one of those changed."""

    def __init__(self, state: SessionState | None = None) -> None:
        self.state = state
        cached = _read_json(state.digests_file) if state is not None else {}
        self._cache: dict[str, list[Any]] = {
            k: v for k, v in cached.items() if isinstance(v, list) and len(v) == 4
        }
        self._changed = False

    def of(self, path: Path) -> str:
        """The digest of a file, of a folder's files (names and contents), or "missing"."""
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return "missing"
        if stat.S_ISDIR(info.st_mode):
            whole = hashlib.sha256()
            for child in sorted(path.iterdir()):
                if not child.name.startswith(".") and child.is_file():
                    whole.update(f"{child.name}\0{self.of(child)}\n".encode())
            return whole.hexdigest()
        if not stat.S_ISREG(info.st_mode):
            raise SessionError(f"{path} is {kind(info.st_mode)}, not a file pose3d can read")
        name = str(path.resolve())
        stamp = [info.st_size, info.st_mtime_ns, info.st_ino]
        cached = self._cache.get(name)
        if cached is not None and cached[:3] == stamp and isinstance(cached[3], str):
            return cached[3]
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                digest.update(block)
        self._cache[name] = [*stamp, digest.hexdigest()]
        self._changed = True
        return digest.hexdigest()

    def save(self) -> None:
        """Write the cache back when a digest was computed (under the session's lock)."""
        if self.state is None or not self._changed:
            return
        self.state.make()
        atomic_write_text(self.state.digests_file, json.dumps(self._cache, indent=0) + "\n")
        self._changed = False


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object file; {} when absent, unreadable or not an object."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
