"""What a CLI test reads back: the one error line a user error prints."""

from __future__ import annotations

import pytest


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one ``error:`` line on stderr (asserting there is exactly one, and no traceback)."""
    err = capsys.readouterr().err.strip().splitlines()
    messages = [line for line in err if line.startswith("error:")]
    assert len(messages) == 1, err
    assert "Traceback" not in "\n".join(err)
    return messages[0]
