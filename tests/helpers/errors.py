"""The one-line errors a user reads: the CLI's `unclosed: error: ...`, and attach_agent's."""
from __future__ import annotations

import pytest

from unclosed import attach_agent
from unclosed.errors import AttachError


def one_line_error(result, code=1) -> str:
    """The message of an `unclosed: error: ...` line, the whole of stderr, exit code `code`."""
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("unclosed: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr[len("unclosed: error: "):-1]


def attach_error(pid, options=None) -> str:
    """The AttachError attach_agent raises, one line."""
    with pytest.raises(AttachError) as error:
        attach_agent(pid, options)
    message = str(error.value)
    assert "\n" not in message
    return message
