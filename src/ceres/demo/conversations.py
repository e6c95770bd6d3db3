"""Demo conversations: a realistic recent inbox, reproducible from the seed.

They go through the conversation services (so SLA clocks, audit entries and e-mails to
requesters are exactly what real traffic makes); e-mails the demo "sends" stay in the outbox
of the demo database.
"""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from ceres.accounts.models import Account
from ceres.conversations import services
from ceres.conversations.models import Conversation
from ceres.team.models import Person

_QUESTIONS = (
    (
        "Hosts offline after upgrade",
        "After upgrading to the latest version, about 300 hosts show as offline.",
    ),
    ("Query results missing", "Scheduled query results stopped arriving since yesterday evening."),
    ("MDM enrollment fails", "New Macs fail MDM enrollment with a 500 from the server."),
    ("SSO login loop", "Users are redirected back to the login page after SSO."),
    ("Vulnerability data stale", "Software vulnerability data has not refreshed for three days."),
    ("Agent CPU usage", "fleetd uses 40% CPU on some Windows hosts."),
    ("Licence renewal question", "Can we add 500 hosts to our licence before renewal?"),
    ("API rate limits", "What are the API rate limits for the hosts endpoint?"),
)
_COMMUNITY = (
    ("osquery table for USB devices", "Is there a table that lists USB devices on Linux?"),
    ("Self-hosting with Docker", "What is the recommended Redis version for self-hosting?"),
)
_POSITIONS = ("Solutions Architect", "Customer Support Engineer", "Infrastructure Engineer")


def make_conversations(*, count: int, seed: int, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    rng = random.Random(seed)
    accounts = list(
        Account.objects.filter(kind=Account.Kind.CUSTOMER)
        .exclude(slack_channel_id="")
        .order_by("id")[:200]
    )
    team = list(Person.objects.filter(role__key__in=["cse", "csa", "csm"]).order_by("id"))
    for _ in range(count):
        received = now - datetime.timedelta(minutes=rng.randint(5, 60 * 24 * 6))
        kind = rng.random()
        if kind < 0.15:
            position = rng.choice(_POSITIONS)
            conversation = services.open_conversation(
                actor=None,
                source=Conversation.Source.CONTACT_FORM,
                category="job-application",
                subject=f"Application: {position}",
                body=f"I would like to apply for the {position} position.",
                requester_name="Applicant " + str(rng.randint(100, 999)),
                requester_email=f"applicant{rng.randint(1000, 9999)}@example.net",
                fields={"position_title": position},
                received_at=received,
            )
        elif kind < 0.3 or not accounts:
            subject, body = rng.choice(_COMMUNITY)
            conversation = services.open_conversation(
                actor=None,
                source=Conversation.Source.SLACK,
                subject=subject,
                body=body,
                requester_name="Community member",
                slack_channel_id="C0COMMUNITY",
                received_at=received,
            )
        else:
            subject, body = rng.choice(_QUESTIONS)
            account = rng.choice(accounts)
            conversation = services.open_conversation(
                actor=None,
                source=Conversation.Source.SLACK,
                subject=subject,
                body=body,
                account=account,
                slack_channel_id=account.slack_channel_id,
                priority=rng.choice(["P1", "P2", "P2", "P3", "P3", "P3"]),
                received_at=received,
            )
        if team and rng.random() < 0.6:
            person = rng.choice(team)
            services.update_conversation(
                actor=person.user, conversation=conversation, assignee=person
            )
            if rng.random() < 0.5:
                services.reply(
                    actor=person.user,
                    conversation=conversation,
                    body="Thanks, we're looking into it and will update you here.",
                )
    return count
