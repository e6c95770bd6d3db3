"""Loading YAML with the line of every key and item (no database)."""

from __future__ import annotations

import pytest

from ceres.playbook import loader
from ceres.playbook.errors import PlaybookError

TEXT = """\
version: 1
roles:
  - key: cse
    name: Customer Support Engineer
  - {key: csa, name: Customer Solutions Architect}
people: []
"""


def test_lines_of_keys_and_list_items() -> None:
    document = loader.load(TEXT, source="p.yaml")
    assert document.data["roles"][1] == {"key": "csa", "name": "Customer Solutions Architect"}
    lines = document.locator
    assert lines.line_of(("version",)) == 1
    assert lines.line_of(("roles", 0)) == 3
    assert lines.line_of(("roles", 0, "name")) == 4
    assert lines.line_of(("roles", 1, "name")) == 5
    assert lines.line_of(("people",)) == 6
    # A field that is not written has the line of its nearest ancestor.
    assert lines.line_of(("roles", 0, "permissions")) == 3


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("version: 1\nroles:\n  - key: a\n   name: b\n", 4, "expected <block end>"),
        ("version: 1\nroles: [\n", 3, "expected the node content"),
        ("version: 1\npeople:\n  - name: 'Lena\n", 4, "found unexpected end of stream"),
        ("a: !!python/object:os.system x\n", 1, "could not determine a constructor"),
    ],
)
def test_malformed_yaml_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        loader.load(text, source="p.yaml")
    [error] = caught.value.errors
    assert error.startswith(f"p.yaml:{line}: invalid YAML: ")
    assert words in error


def test_a_key_written_twice_is_refused_with_both_lines() -> None:
    with pytest.raises(PlaybookError) as caught:
        loader.load("version: 1\nroles: []\nversion: 2\n", source="p.yaml")
    assert caught.value.errors == ["p.yaml:3: version: written twice (first on line 1)"]


def test_keys_are_taken_as_written_not_as_yaml_booleans() -> None:
    document = loader.load("on: yes\nno: 1\n", source="p.yaml")
    assert document.data == {"on": True, "no": 1}


def test_aliases_are_expanded_and_a_self_reference_is_refused() -> None:
    document = loader.load("a: &hours {mon: [x]}\nb: *hours\n", source="p.yaml")
    assert document.data["b"] == {"mon": ["x"]}
    with pytest.raises(PlaybookError, match=r"p\.yaml:1: a\[0\]: an alias refers to itself"):
        loader.load("a: &a [*a]\n", source="p.yaml")


def test_alias_bombs_are_refused() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        text += f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]\n"
    with pytest.raises(PlaybookError, match="too many values"):
        loader.load(text, source="p.yaml")


def test_empty_files_and_bad_encodings_are_refused() -> None:
    with pytest.raises(PlaybookError, match=r"^p\.yaml:1: the file is empty$"):
        loader.load("# only a comment\n", source="p.yaml")
    with pytest.raises(PlaybookError, match=r"^p\.yaml:2: the file is not UTF-8 text$"):
        loader.load_bytes(b"version: 1\nname: \xff\n", source="p.yaml")
