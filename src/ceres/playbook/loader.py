"""YAML in, plain data out, with the line of every key and list item kept for error messages.

PyYAML's SafeLoader composes the node tree (which carries marks); we build the Python values
ourselves so that each value's path can be mapped to its line. Three deliberate differences from
`yaml.safe_load`:

- a key written twice in one mapping is an error (safe_load silently keeps the last one);
- mapping keys are taken as written: `on:` or `no:` stay the strings "on" and "no" instead of
  YAML 1.1 booleans, because every key of a playbook is a name;
- aliases are expanded with a budget, so a "billion laughs" file is refused, not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ceres.playbook.errors import DocPath, Locator, PlaybookError, Problem

MAX_NODES = 100_000


@dataclass(frozen=True)
class Document:
    data: Any
    locator: Locator


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _syntax_error(source: str, exc: yaml.YAMLError, text: str) -> PlaybookError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        what = f"character {exc.character!r} is not allowed in YAML"
    else:  # pragma: no cover - every PyYAML error is one of the two above
        line, what = 1, str(exc)
    return PlaybookError([f"{source}:{line}: invalid YAML: {what or 'syntax error'}"])


class _Builder:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[DocPath, int] = {}
        self.problems: list[Problem] = []
        self.visited = 0
        self.open: set[int] = set()

    def build(self, node: Node, path: DocPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise _TooLarge
        if id(node) in self.open:
            self.problems.append(Problem(path, "an alias refers to itself"))
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self._item(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: Node, path: DocPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError:
            # An unquoted 2026-13-01 looks like a date to YAML, which then cannot build it.
            if node.tag == "tag:yaml.org,2002:timestamp":
                message = f"{node.value!r} is not a valid date (YYYY-MM-DD)"
            else:  # pragma: no cover - PyYAML's other scalars are checked by their pattern
                message = f"{node.value!r} cannot be read"
            self.problems.append(Problem(path, message, line=_line(node)))
            return None

    def _item(self, node: Node, path: DocPath) -> Any:
        self.lines.setdefault(path, _line(node))
        return self.build(node, path)

    def _mapping(self, node: MappingNode, path: DocPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(Problem(path, "keys must be plain names"))
                self.lines.setdefault(path, _line(key_node))
                continue
            key = str(key_node.value)
            if key in result:
                first = self.lines[(*path, key)]
                message = f"written twice (first on line {first})"
                self.problems.append(Problem((*path, key), message, line=_line(key_node)))
                continue
            self.lines[(*path, key)] = _line(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result


class _TooLarge(Exception):
    pass


def load(text: str, *, source: str) -> Document:
    """Parse one YAML document. Raises PlaybookError with `source:line:` messages."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PlaybookError([f"{source}:1: the file is empty"])
        builder = _Builder(loader)
        data = builder.build(root, ())
    except yaml.YAMLError as exc:
        raise _syntax_error(source, exc, text) from exc
    except _TooLarge as exc:
        message = f"{source}:1: too many values (over {MAX_NODES}); are aliases nested?"
        raise PlaybookError([message]) from exc
    finally:
        loader.dispose()
    locator = Locator(source=source, lines=builder.lines)
    if builder.problems:
        raise locator.error(builder.problems)
    return Document(data=data, locator=locator)


def load_bytes(raw: bytes, *, source: str) -> Document:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlaybookError([f"{source}:{line}: the file is not UTF-8 text"]) from exc
    return load(text, source=source)
