"""The terminal UI, ``pose3d tui [SESSION]`` (Textual).

Pure models the screens drive (no textual import, tested on their own):
:mod:`.editor` (label edits with undo/redo and autosave), :mod:`.frames` (decoded-frame cache
synchronized across cameras), :mod:`.viewport` (zoom / pan and the cell <-> image pixel mapping),
:mod:`.canvas` (a view drawn with its labels), :mod:`.timeline` (per-frame status),
:mod:`.recent` (recent sessions) and :mod:`.workspace` (an open session: lock, editor, frames).

Textual lives in :mod:`.app`, :mod:`.screens` and :mod:`.widgets`; importing this package imports
neither textual nor anything heavy.
"""
