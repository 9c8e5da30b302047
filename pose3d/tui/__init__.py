"""The terminal UI, ``pose3d tui [SESSION]`` (Textual).

Pure models the screens drive (no textual import, tested on their own):
:mod:`.editor` (label edits with undo/redo and autosave), :mod:`.frames` (decoded-frame cache
synchronized across cameras), :mod:`.viewport` (zoom / pan and the cell <-> image pixel mapping),
:mod:`.canvas` (a view drawn with its labels), :mod:`.timeline` (per-frame status),
:mod:`.recent` (recent sessions) and :mod:`.workspace` (an open session: lock, editor, frames).

Textual lives in :mod:`.app`, :mod:`.screens` and :mod:`.widgets`; importing this package imports
neither textual nor anything heavy.

``keymap.md`` (package data) is the key <-> action contract: `keymap_text` reads it,
``pose3d tui --keys`` prints it, and tests/tui/test_keymap.py keeps it equal to the bindings.
"""

KEYMAP = "keymap.md"  # package data beside this file


def keymap_text() -> str:
    """The keymap of every screen (Markdown tables), read through importlib.resources."""
    from importlib.resources import files

    return files(__name__).joinpath(KEYMAP).read_text(encoding="utf-8")
