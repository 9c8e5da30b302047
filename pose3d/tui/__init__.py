"""The terminal UI, ``pose3d tui [SESSION]`` (Textual).

Modules by kind (the first three import no Textual and are tested on their own):

- :mod:`.state`: the open session (workspace with its SessionFolder and lock, label editor with
  undo and autosave, decoded-frame cache, recent sessions);
- :mod:`.drawing`: viewport (zoom / pan, cell <-> pixel), canvas and pictures drawn ahead,
  palette, timeline;
- :mod:`.logic`: what the screens decide (New-session form, propagate request and review tour,
  the 3D error table);
- Textual: :mod:`.app`, :mod:`.screens` (full screens), :mod:`.dialogs` (modal screens),
  :mod:`.widgets`, :mod:`.messages`; :mod:`.gc_pacing` paces garbage collection to idle moments.

Importing this package imports neither textual nor anything heavy.

``keymap.md`` (package data) is the key <-> action contract: `keymap_text` reads it,
``pose3d tui --keys`` prints it, and tests/tui/test_keymap.py keeps it equal to the bindings.
"""

KEYMAP = "keymap.md"  # package data beside this file


def keymap_text() -> str:
    """The keymap of every screen (Markdown tables), read through importlib.resources."""
    from importlib.resources import files

    return files(__name__).joinpath(KEYMAP).read_text(encoding="utf-8")


def keymap_section(title: str) -> str:
    """The ``## title`` section of the keymap (its text and table), '' when there is none."""
    lines, inside = [], False
    for line in keymap_text().splitlines():
        if line.startswith("## "):
            inside = line[3:].strip() == title
        if inside:
            lines.append(line)
    return "\n".join(lines).strip()
