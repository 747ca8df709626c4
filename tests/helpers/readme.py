"""The README's code snippets, which tests run as users would copy them."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def snippet(name: str) -> str:
    """The code block that follows `<!-- snippet: NAME -->` in the README."""
    match = re.search(rf"<!-- snippet: {name} -->\n```\w*\n(.*?)```", README.read_text(), re.S)
    assert match, f"README has no snippet {name}"
    return match.group(1)
