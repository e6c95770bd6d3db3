"""`clean_text`: what every service does to a text before storing it."""

from __future__ import annotations

import pytest

from ceres.core.errors import Invalid
from ceres.core.text import clean_text


def test_strips_and_takes_none_as_empty() -> None:
    assert clean_text("  Road  Runner ", field="name", max_length=20) == "Road  Runner"
    assert clean_text("  Road \t Runner ", field="name", max_length=20, collapse_spaces=True) == (
        "Road Runner"
    )
    assert clean_text(None, field="title", max_length=5) == ""
    assert clean_text("x" * 5, field="title", max_length=5) == "xxxxx"


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("a\x00b", {}, "must not contain NUL characters"),
        ("x" * 6, {}, "must be at most 5 characters"),
        ("   ", {"required": True}, "must not be empty"),
        (None, {"required": True}, "must not be empty"),
    ],
)
def test_refusals_name_the_field(value: str | None, kwargs: dict[str, bool], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        clean_text(value, field="title", max_length=5, **kwargs)
    assert (caught.value.field, caught.value.message) == ("title", message)
