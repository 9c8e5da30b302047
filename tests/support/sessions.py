"""Session verbs called the way the CLI calls them: on a folder opened (and locked) for the call."""

from __future__ import annotations

import os
from typing import Any

from pose3d.pipeline.folder import SessionFolder
from pose3d.pipeline.labels_io import ImportReport, import_labels
from pose3d.session import Session


def import_into(
    session: Session | str | os.PathLike[str], *args: Any, **kwargs: Any
) -> ImportReport:
    """:func:`pose3d.pipeline.labels_io.import_labels` on ``session``'s folder."""
    with SessionFolder(session) as folder:
        return import_labels(folder, *args, **kwargs)
