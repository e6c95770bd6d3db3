from __future__ import annotations

import datetime

import pytest

from ceres.accounts.models import Account
from ceres.conversations import services
from ceres.conversations.models import Conversation, SavedReply
from ceres.team.models import Person

CHICAGO = datetime.timezone(datetime.timedelta(hours=-5))


@pytest.fixture
def job_application(db: None) -> Conversation:
    return services.open_conversation(
        actor=None,
        source="contact_form",
        category="job-application",
        subject="Application",
        body="I would like to apply.",
        requester_name="Jo Applicant",
        requester_email="jo@applicant.example",
        fields={"position_title": "Solutions Architect"},
        received_at=datetime.datetime(2026, 5, 22, 15, 0, tzinfo=CHICAGO),
    )


@pytest.fixture
def acme_thread(acme: Account) -> Conversation:
    return services.open_conversation(
        actor=None,
        source="slack",
        subject="Hosts offline",
        body="All hosts went offline after the upgrade.",
        account=acme,
        requester_name="Wile Coyote",
        requester_slack_user_id="U0WILE",
        slack_channel_id="C0ACME",
        slack_thread_ts="1700000000.000100",
        priority="P2",
    )


@pytest.fixture
def position_reply(db: None) -> SavedReply:
    return services.save_saved_reply(
        actor=None,
        key="applying-for-open-position",
        name="Applying for open position",
        subject="Your application for {{position_title}}",
        body="Hi {{requester_name}}, thanks for applying for the {{position_title}} role.",
        category="job-application",
    )


@pytest.fixture
def lena(cse: Person) -> Person:
    return cse
