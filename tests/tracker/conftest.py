from __future__ import annotations

from typing import Any

import pytest

from ceres.tracker.bugs import BugReportInput

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


@pytest.fixture
def bug_input() -> BugReportInput:
    return BugReportInput(**FORM)  # type: ignore[arg-type]


def form_data(**changes: Any) -> dict[str, Any]:
    return {**FORM, **changes}
