from __future__ import annotations

import pytest

from ceres.sla import services
from ceres.sla.models import SlaPolicy

HOUR = 3600
SUPPORT = {
    "timezone": "America/Chicago",
    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US"},
}


@pytest.fixture
def handbook_policies(db: None) -> dict[str, SlaPolicy]:
    """The handbook's rules, as the demo playbook states them."""
    services.save_calendar(actor=None, key="support", spec=SUPPORT)
    policies = [
        (
            "job-application",
            {"source": ["contact_form"], "category": ["job-application"]},
            {
                "first_response": [
                    {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
                ]
            },
        ),
        (
            "premium",
            {"tier": ["premium", "premium-mdm"]},
            {
                "first_response": [
                    {"when": "inside_hours", "calendar": "support", "within_seconds": HOUR},
                    {"when": "outside_hours", "calendar": "support", "within_seconds": 4 * HOUR},
                ],
                "next_response": [
                    {"within_seconds": 4 * HOUR, "clock": "business", "calendar": "support"}
                ],
            },
        ),
        (
            "community-slack",
            {"source": ["slack"], "channel_kind": ["community"]},
            {"first_response": [{"within_seconds": 24 * HOUR}]},
        ),
        (
            "default",
            {},
            {
                "first_response": [
                    {"within_seconds": 8 * HOUR, "clock": "business", "calendar": "support"}
                ]
            },
        ),
    ]
    return {
        key: services.save_policy(
            actor=None,
            key=key,
            position=10 * (i + 1),
            match=match,
            targets=targets,
            escalate_to_role="vp-cs",
        )
        for i, (key, match, targets) in enumerate(policies)
    }
