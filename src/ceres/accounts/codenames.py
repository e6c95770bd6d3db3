"""Confidential codenames from the minor-planet catalogue (data/minor_planets.csv).

Rules (handbook "Assign a customer codename", issue #2):
- a codename is never reused, even after its account is deleted (`Codename.assigned_at`);
- it must not equal or contain any account's real name, nor be contained in one, compared
  case- and accent-insensitively on letters and digits only (`fold_compact`);
- its GitHub label is `customer-<codename>` as lower-case ASCII.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from importlib import resources
from typing import Any

from ceres.core.text import fold_compact, slug_label

LABEL_PREFIX = "customer-"


def label_for(name: str) -> str:
    return f"{LABEL_PREFIX}{slug_label(name)}"


def catalogue_rows() -> list[tuple[int, str]]:
    """(number, name) for every named minor planet the package ships."""
    text = resources.files("ceres.accounts").joinpath("data/minor_planets.csv").read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    return [(int(row["number"]), row["name"]) for row in reader]


def load_catalogue(codename_model: Any, batch_size: int = 2000) -> int:
    """Insert catalogue names that are not there yet (used by a data migration)."""
    existing = set(codename_model.objects.values_list("number", flat=True))
    new = [
        codename_model(number=n, name=name, folded=fold_compact(name), label=label_for(name))
        for n, name in catalogue_rows()
        if n not in existing and fold_compact(name)
    ]
    codename_model.objects.bulk_create(new, batch_size=batch_size)
    return len(new)


def names_collide(codename: str, real_name: str) -> bool:
    """Equal, or one contains the other, ignoring case, accents, spaces and punctuation."""
    a, b = fold_compact(codename), fold_compact(real_name)
    if not a or not b:
        return False
    return a in b or b in a


def first_collision(codename: str, real_names: Iterable[str]) -> str | None:
    folded = fold_compact(codename)
    for name in real_names:
        other = fold_compact(name)
        if other and (folded in other or other in folded):
            return name
    return None


def shuffled(ids: list[int], seed: int | None = None) -> list[int]:
    rng = random.Random(seed)
    rng.shuffle(ids)
    return ids
