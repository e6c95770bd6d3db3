from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ceres.playbook.services import DEMO_PLAYBOOK

# A small playbook for focused tests; each test edits what it is about.
MINIMAL = """\
version: 1
roles:
  - {key: cse, name: Customer Support Engineer, permissions: [accounts.view_confidential]}
  - {key: engineer, name: Engineer, permissions: []}
people:
  - {name: Lena Park, role: cse, email: lena@example.com, username: lena, timezone: UTC}
  - {name: Sam Engel, role: engineer, email: sam@example.com, username: sam}
products:
  - {key: premium, name: Fleet Premium}
"""

Write = Callable[..., Path]


def line_of(text: str, needle: str) -> int:
    """The 1-based line where `needle` first appears in `text`."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


@pytest.fixture
def write(tmp_path: Path) -> Write:
    def write(text: str, name: str = "playbook.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def demo_text() -> str:
    return DEMO_PLAYBOOK.read_text(encoding="utf-8")
