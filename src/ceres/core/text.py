"""Text folding shared by codenames, labels, search and the confidentiality firewall."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

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
