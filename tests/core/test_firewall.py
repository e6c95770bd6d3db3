from __future__ import annotations

import pytest

from ceres.accounts.models import Account
from ceres.core.errors import ConfidentialLeak
from ceres.core.firewall import check_public_text, find_confidential


def test_finds_names_whatever_the_case_accents_and_punctuation() -> None:
    names = ["Acme Robotics", "Société Générale"]
    text = "Hi!\nACME-robotics' fleet of 4,000 hosts, and societe generale too."
    found = find_confidential(text, names)
    assert [f.text for f in found] == ["ACME-robotics", "societe generale"]
    assert (found[0].line, found[0].column) == (2, 1)


def test_matches_whole_words_only() -> None:
    assert find_confidential("Acmes and Xacme robotic", ["Acme Robotics", "Acme"]) == []
    assert [f.text for f in find_confidential("acme's hosts", ["Acme"])] == ["acme"]


def test_clean_text_passes_unchanged() -> None:
    assert find_confidential("Kamo`oalewa reports hosts offline", ["Acme Robotics"]) == []


def test_check_public_text_blocks_with_where(acme: Account) -> None:
    with pytest.raises(ConfidentialLeak) as exc:
        check_public_text("Title\nAcme Robotics' fleet of 4,000 hosts", field="body")
    assert exc.value.field == "body"
    assert "line 2, column 1" in exc.value.message
    assert check_public_text("customer-kamooalewa: fleet of 4,000 hosts").startswith("customer")


def test_contact_names_are_confidential_too(acme: Account) -> None:
    with pytest.raises(ConfidentialLeak):
        check_public_text("Thanks Wile Coyote for the logs")
