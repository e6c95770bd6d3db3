"""Text folding shared by codenames, labels, search and the confidentiality firewall, and the
cleaning every service applies to the texts it stores."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

from ceres.core.errors import Invalid

# Apostrophe-like marks vanish (Kamo`oalewa -> kamooalewa, d'Arrest -> darrest); everything
# else that is not a letter or digit becomes a separator.
_APOSTROPHES = re.compile(r"[`'\u2018\u2019\u02bb\u02bc\u00b4]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case ASCII with accents removed: the form in which names are compared."""
    normalized = unicodedata.normalize("NFKC", text)
    return anyascii(_APOSTROPHES.sub("", normalized)).lower()


def fold_compact(text: str) -> str:
    """Only letters and digits: "Acme-Robotics, Inc." and "acme robotics inc" compare equal."""
    return _NON_ALNUM.sub("", fold(text))


def slug_label(text: str) -> str:
    """Lower-case ASCII with runs of anything else folded to a single '-'."""
    return _NON_ALNUM.sub("-", fold(text)).strip("-")


def clean_text(
    value: object,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    collapse_spaces: bool = False,
) -> str:
    """A text as a service stores it: stripped (inner runs of spaces made one with
    `collapse_spaces`), None taken as empty, and refused — naming the field — when it is empty
    but `required`, longer than its column (PostgreSQL refuses it where SQLite would keep it) or
    holds a NUL character (which PostgreSQL cannot store)."""
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if collapse_spaces else text.strip()
    if "\x00" in text:
        raise Invalid("must not contain NUL characters", field=field)
    if required and not text:
        raise Invalid("must not be empty", field=field)
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length} characters", field=field)
    return text
