from __future__ import annotations

from typing import Any

import pytest

from ceres.accounts.models import Account, Contact
from ceres.automations import services
from ceres.automations.models import AutomationRule
from ceres.conversations import services as conversation_services
from ceres.sla.models import SlaPolicy

CHANNEL = "C0ACME"
WILE = "U0WILE"
NOTICE = (
    "Thanks for reaching out. Our team is outside business hours right now; we will answer "
    "first thing. If this is a P0 or P1 incident, press a button below."
)


@pytest.fixture
def after_hours_rule(
    handbook_policies: dict[str, SlaPolicy], acme: Account, make_person: Any
) -> AutomationRule:
    acme.slack_channel_id = CHANNEL
    acme.save()
    Contact.objects.filter(account=acme).update(slack_user_id=WILE)
    make_person(
        "vp-cs", name="Ada Ortiz", email="ada@example.com", username="ada", phone="+15555550100"
    )
    conversation_services.save_saved_reply(
        actor=None, key="after-hours-notice", name="After hours", body=NOTICE
    )
    return services.save_rule(
        actor=None,
        key="after-hours-customer-slack",
        name="After-hours customer Slack",
        trigger="message_received",
        conditions={
            "author": "not_team",
            "outside_hours": "support",
            "channel_kind": "customer",
            "new_conversation": True,
        },
        actions=[{"reply_in_thread": "after-hours-notice"}],
        buttons={
            "emergency": {
                "options": ["P0", "P1"],
                "actions": [{"text": {"role": "vp-cs"}}, {"set_priority": "from_button"}],
            }
        },
    )
