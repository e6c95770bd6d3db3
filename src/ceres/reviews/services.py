"""The customer-questions log: logging a question, marking it documented, the weekly digest."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation
from ceres.core.audit.services import Actor, record_change
from ceres.core.errors import Invalid
from ceres.core.outbox.models import OutboxMessage
from ceres.core.outbox.services import enqueue
from ceres.reviews.models import CustomerQuestion
from ceres.team.models import Person

MAX_TEXT = 10_000


def _label(question: CustomerQuestion) -> str:
    return f"question #{question.pk}"


@transaction.atomic
def log_question(
    *,
    actor: Actor,
    text: str,
    logged_by: Person | None,
    link: str = "",
    account: Account | None = None,
    conversation: Conversation | None = None,
    slack_channel_id: str = "",
    slack_ts: str = "",
    at: datetime.datetime | None = None,
) -> tuple[CustomerQuestion, bool]:
    """(question, True) when logged now; (the earlier entry, False) for a message logged
    before: a shortcut pressed twice, or a shortcut and a reaction, log it once."""
    text = text.strip()
    if not text:
        raise Invalid("a question needs its text", field="text")
    if len(text) > MAX_TEXT:
        raise Invalid(f"at most {MAX_TEXT} characters", field="text")
    if slack_ts:
        earlier = CustomerQuestion.objects.filter(
            slack_channel_id=slack_channel_id, slack_ts=slack_ts
        ).first()
        if earlier is not None:
            return earlier, False
    try:
        with transaction.atomic():
            question = CustomerQuestion.objects.create(
                text=text,
                link=link[:500],
                account=account or (conversation.account if conversation else None),
                conversation=conversation,
                slack_channel_id=slack_channel_id,
                slack_ts=slack_ts,
                logged_by=logged_by,
                logged_at=at or timezone.now(),
            )
    except IntegrityError:
        earlier = CustomerQuestion.objects.get(slack_channel_id=slack_channel_id, slack_ts=slack_ts)
        return earlier, False
    record_change(
        actor=actor,
        action="question.log",
        target=question,
        target_label=_label(question),
        changes={"text": [None, text[:200]]},
    )
    return question, True


@transaction.atomic
def mark_documented(
    *, actor: Actor, question: CustomerQuestion, documentation_link: str = ""
) -> CustomerQuestion:
    question.documented_at = question.documented_at or timezone.now()
    question.documentation_link = documentation_link.strip()[:500]
    question.save(update_fields=["documented_at", "documentation_link"])
    record_change(
        actor=actor,
        action="question.documented",
        target=question,
        target_label=_label(question),
        changes={"documentation_link": [None, question.documentation_link]},
    )
    return question


def week_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Monday and Sunday of the ISO week holding `day`."""
    monday = day - datetime.timedelta(days=day.weekday())
    return monday, monday + datetime.timedelta(days=6)


def send_weekly_digest(*, now: datetime.datetime | None = None) -> bool:
    """From Friday 15:00 (the team's zone), the week's questions go by e-mail to the role that
    updates the documentation: once per week (the outbox key names the week), however often
    this runs. Returns whether a digest was written now."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(settings.CERES_QUESTIONS_DIGEST_TIMEZONE)
    local = now.astimezone(zone)
    if local.weekday() < 4 or (local.weekday() == 4 and local.hour < 15):
        return False
    monday, sunday = week_of(local.date())
    start = datetime.datetime.combine(monday, datetime.time(), zone)
    questions = list(
        CustomerQuestion.objects.filter(logged_at__gte=start, logged_at__lte=now)
        .select_related("account__codename")
        .order_by("logged_at", "id")
    )
    people = Person.objects.filter(is_active=True, role__key=settings.CERES_QUESTIONS_DIGEST_ROLE)
    to = sorted({p.email for p in people if p.email})
    if not questions or not to:
        return False
    year, week, _ = monday.isocalendar()
    lines = [
        f"Customer questions logged this week ({monday:%b %d} to {sunday:%b %d}): "
        f"{len(questions)}.",
        "Update the documentation so the next user need not ask; then mark each one documented",
        f"in Ceres: {settings.BASE_URL.rstrip('/')}/questions/",
        "",
    ]
    for n, question in enumerate(questions, 1):
        # Codenames only: a digest is e-mail, and not every reader may see real names.
        where = question.account.codename.name if question.account else "community"
        lines.append(f"{n}. [{where}] {question.text[:500]}")
        if question.link:
            lines.append(f"   {question.link}")
    _, created = _enqueue_digest(year, week, to, "\n".join(lines))
    return created


def _enqueue_digest(year: int, week: int, to: list[str], body: str) -> tuple[str, bool]:
    key = f"questions-digest-{year}-W{week:02d}"
    existed = OutboxMessage.objects.filter(idempotency_key=key).exists()
    enqueue(
        channel="email",
        idempotency_key=key,
        payload={
            "to": to,
            "cc": [],
            "subject": f"Customer questions, week {week} of {year}",
            "body": body,
        },
    )
    return key, not existed
