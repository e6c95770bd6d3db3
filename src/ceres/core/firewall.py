"""The confidentiality firewall: one check every text bound for a public destination passes.

Domain apps register providers of confidential names (accounts registers customers' legal
names); `core` itself imports no domain app. A match is made on folded text (case, accents and
punctuation ignored), on word boundaries, so "ACME-Robotics" is caught for "Acme Robotics".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ceres.core.errors import ConfidentialLeak
from ceres.core.text import fold

NamesProvider = Callable[[], Iterable[str]]
_providers: list[NamesProvider] = []
_WORD = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)


def register_names_provider(provider: NamesProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


@dataclass(frozen=True)
class Finding:
    """Where a confidential name was found: the offending words as written, and their place."""

    text: str
    start: int
    end: int
    line: int
    column: int


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Folded words with the span of the original text they came from."""
    tokens: list[tuple[str, int, int]] = []
    for match in re.finditer(r"\w+(?:['`\u2019\u02bb]\w+)*", text):
        end = match.end()
        possessive = _POSSESSIVE.search(match.group())
        if possessive:  # "Acme's" is Acme; "Kamo`oalewa" stays one word
            end = match.start() + possessive.start()
        for word in _WORD.findall(fold(text[match.start() : end])):
            tokens.append((word, match.start(), end))
    return tokens


def find_confidential(text: str, names: Iterable[str] | None = None) -> list[Finding]:
    names = list(names) if names is not None else [n for p in _providers for n in p()]
    phrases = {tuple(_WORD.findall(fold(name))) for name in names}
    phrases.discard(())
    if not phrases or not text:
        return []
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase[0], []).append(phrase)
    tokens = _tokens(text)
    words = [t[0] for t in tokens]
    findings: list[Finding] = []
    for i, word in enumerate(words):
        for phrase in by_first.get(word, ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                start, end = tokens[i][1], tokens[i + len(phrase) - 1][2]
                line = text.count("\n", 0, start) + 1
                column = start - (text.rfind("\n", 0, start) + 1) + 1
                findings.append(Finding(text[start:end], start, end, line, column))
    findings.sort(key=lambda f: f.start)
    return findings


def check_public_text(text: str, *, field: str = "text", destination: str = "public") -> str:
    """Return the text unchanged, or raise ConfidentialLeak naming where the names are.

    The message quotes only the sender's own words back to them, never the list of names.
    """
    findings = find_confidential(text)
    if findings:
        where = "; ".join(f"'{f.text}' at line {f.line}, column {f.column}" for f in findings)
        raise ConfidentialLeak(
            f"blocked: a customer's confidential name may not go to {destination}: {where}",
            field=field,
        )
    return text
