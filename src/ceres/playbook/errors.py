"""Problems found in a playbook, and how they are shown: `FILE:LINE: field.path: message`.

Every check collects `Problem`s (a path into the document and a message) instead of stopping
at the first one, so an operator fixes a file in one pass. The `Locator` turns a path into the
line it came from; only then do problems become the strings a person reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ceres.core.errors import Invalid

PathPart = str | int
DocPath = tuple[PathPart, ...]


class PlaybookError(Invalid):
    """The playbook was refused; nothing was applied. `errors` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors), field="playbook")
        self.errors = errors


@dataclass(frozen=True)
class Problem:
    path: DocPath
    message: str
    line: int | None = None  # when the path alone does not tell (a key written twice)
    see: DocPath | None = None  # another entry the message refers to; its line is added


def dotted(path: DocPath) -> str:
    """("people", 2, "role") -> "people[2].role", the way the messages name a field."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Locator:
    """Where each part of a loaded document was written: `lines[path]` is a 1-based line.

    For a mapping entry the line is the key's line (where a reader looks for the field); for a
    list item it is the line the item starts on.
    """

    source: str
    lines: Mapping[DocPath, int]

    def line_of(self, path: DocPath) -> int:
        """The line of `path`, or of its nearest ancestor (a missing field has no line)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def line_for(self, problem: Problem) -> int:
        return problem.line if problem.line is not None else self.line_of(problem.path)

    def format(self, problem: Problem) -> str:
        where = f"{self.source}:{self.line_for(problem)}"
        field = dotted(problem.path)
        message = problem.message
        if problem.see is not None:
            message += f" ({dotted(problem.see)}, line {self.line_of(problem.see)})"
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"

    def error(self, problems: Iterable[Problem]) -> PlaybookError:
        """One error with every problem, in the order of the file."""
        ordered = sorted(problems, key=self.line_for)
        return PlaybookError([self.format(problem) for problem in ordered])
