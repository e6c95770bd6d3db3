""" "+" labels (the earlier handbook): when someone who is not on the team comments on an open
issue, every label whose name starts with "+" comes off, because the team was waiting for them.
Team comments leave them. "On the team" is the team directory's GitHub logins, compared
case-insensitively (GitHub logins are case-insensitive; a bot that compares them exactly misses
"RaviMenon" commenting as "ravimenon"), plus `CERES_GITHUB_BOTS`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from ceres.core.audit.services import record_change
from ceres.core.inbox.models import InboundEvent
from ceres.core.inbox.registry import register_handler
from ceres.github.outbox import remove_label
from ceres.team.models import Person

log = logging.getLogger(__name__)

PLUS = "+"


def register() -> None:
    register_handler("github", "issue_comment.created", on_comment_created)


def on_the_team(login: str) -> bool:
    folded = login.strip().lower()
    if not folded:
        return False
    if folded in settings.CERES_GITHUB_BOTS:
        return True
    return Person.objects.filter(is_active=True, github_login__iexact=folded).exists()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def on_comment_created(event: InboundEvent) -> None:
    payload = event.payload
    issue, comment = _dict(payload.get("issue")), _dict(payload.get("comment"))
    repo = _dict(payload.get("repository")).get("full_name")
    number = issue.get("number")
    login = _dict(comment.get("user")).get("login")
    if not isinstance(repo, str) or not isinstance(number, int) or not isinstance(login, str):
        return
    if issue.get("state") != "open" or "pull_request" in issue:
        return
    labels: list[str] = [
        str(label["name"])
        for label in issue.get("labels") or []
        if isinstance(label, dict) and isinstance(label.get("name"), str)
    ]
    plus = [name for name in labels if name.startswith(PLUS)]
    if not plus or on_the_team(login):
        return
    for name in plus:
        remove_label(
            idempotency_key=f"github-{event.event_id}-remove-{name}"[:200],
            repo=repo,
            number=number,
            name=name,
        )
    record_change(
        actor=None,
        action="github.plus_labels_removed",
        target=event,
        target_label=f"{repo}#{number}",
        changes={"labels": [plus, []], "comment_by": [None, login]},
    )
    log.info("%s#%s: %s commented, removing %s", repo, number, login, ", ".join(plus))
