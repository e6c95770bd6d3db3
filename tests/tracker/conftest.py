from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ceres.accounts.models import Account
from ceres.sla.models import SlaPolicy
from ceres.team.models import Person
from ceres.tracker import bugs
from ceres.tracker.bugs import BugReportInput
from ceres.tracker.models import TrackerIssue

FORM: dict[str, str] = {
    "title": "Hosts go offline after the agent upgrade",
    "server_version": "4.52.0",
    "agent_version": "1.30.0",
    "agent_kind": "fleetd",
    "operating_system": "macOS 14.5",
    "web_browser": "Chrome 126",
    "expected_behavior": "Hosts stay online after the upgrade.",
    "actual_behavior": "About a third of the hosts stop checking in.",
    "reproduction_steps": "1. Upgrade fleetd to 1.30.0\n2. Wait ten minutes",
}


def report_input(**changes: str) -> BugReportInput:
    """The complete bug report of FORM, with some fields changed."""
    return replace(BugReportInput(), **{**FORM, **changes})


@pytest.fixture
def bug_input() -> BugReportInput:
    return report_input()


def form_data(**changes: Any) -> dict[str, Any]:
    return {**FORM, **changes}


def at(text: str) -> datetime.datetime:
    """A Chicago wall-clock time in late 2026 (CST, UTC-6) as an aware UTC instant."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC) + datetime.timedelta(
        hours=6
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime.datetime], None]:
    """Pins `timezone.now()` (the services read it) to the instant given."""

    def set_now(now: datetime.datetime) -> None:
        monkeypatch.setattr("django.utils.timezone.now", lambda: now)

    return set_now


@pytest.fixture
def bug(
    acme: Account, cse: Person, bug_input: BugReportInput, handbook_policies: dict[str, SlaPolicy]
) -> TrackerIssue:
    """A bug report filed for Acme by the support engineer, on the handbook's calendars."""
    return bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse).issue
