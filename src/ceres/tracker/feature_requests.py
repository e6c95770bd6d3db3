"""The handbook's "Communicate feedback on prioritized customer requests", as a state machine.

    requested ──prioritize──▶ prioritized ──ask for feedback──▶ waiting on the CSM
                                   ▲                               │          │
                                   │                          met  │          │ not met
                                   │                               ▼          ▼
                                   │                    meets the need     missing something
                                   │                     (issue closed)    (CSM unassigned)
                                   └─────────ask for feedback again (the next release)──┘

A feature request is an issue of kind `feature_request` in the public repository, carrying the
customer label of every account that asked (codenames: it is public), with a `FeatureRequest`
row for the dates and the people. The stages and the moves between them are data in
`tracker.workflow` (FeatureStage, FEATURE_MOVES). Each move changes labels, assignees, comments
and state through `tracker.services` (mirrored to the tracker, firewalled, audited), is audited
itself, and is refused with Conflict, naming the stage, when it does not apply.

While the CSM has not recorded the outcome, `remind_at` is their timer: the sweep
(`send_reminders`) reminds them once per due time and sets the next one.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.core.audit.services import Actor, acting_as, record_change
from ceres.core.businesstime.engine import next_opening
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.slack import outbox as slack_outbox
from ceres.team.models import Person
from ceres.team.selectors import person_of
from ceres.tracker import selectors, services
from ceres.tracker.models import FeatureRequest, TrackerIssue, TrackerRepository
from ceres.tracker.standup import board_calendar, board_expires_at
from ceres.tracker.workflow import FEATURE_MOVES, FeatureStage, current, feature_stage_of

# The CSM has this many business days (of the stand-up board's calendar, the playbook's
# `bug_workflow.standup.calendar`;
# Monday to Friday in UTC without one) to bring the release to the customer before the first
# reminder, and as many again between reminders. Three: enough to reach a customer for a
# routine check-in within the week, short enough that a release is not forgotten. The reminder
# comes at the opening of the next business day, not in the evening.
REMIND_AFTER_BUSINESS_DAYS = 3
EVIDENCE_MAX = 500  # FeatureRequest.evidence_link's max_length
NOTE_MAX = 10_000
REMINDER_ACTOR = "feature-request reminders"
MOVES = FEATURE_MOVES


def stage_of(request: FeatureRequest, issue: TrackerIssue) -> str:
    return feature_stage_of(
        closed=issue.state == TrackerIssue.State.CLOSED,
        prioritized=request.prioritized_at is not None,
        released=request.released_at is not None,
        outcome=request.outcome,
    )


def allowed(stage: str, move: str) -> bool:
    return stage in MOVES[move]


def _check_move(request: FeatureRequest, issue: TrackerIssue, move: str) -> None:
    stage = stage_of(request, issue)
    if not allowed(stage, move):
        raise Conflict(
            f"cannot {move.replace('_', ' ')} now: {FeatureStage.DESCRIPTIONS[stage].lower()}",
            field="stage",
        )


def remind_at_after(instant: datetime.datetime) -> datetime.datetime:
    """The opening of the business day after the REMIND_AFTER_BUSINESS_DAYS-th business day
    counted from `instant` (day 1 is `instant`'s own day while it is still open)."""
    cal = board_calendar(current().calendar)
    last_day_closes = board_expires_at(cal, instant, REMIND_AFTER_BUSINESS_DAYS)
    if last_day_closes is None:  # a calendar that never opens: count calendar days
        return instant + datetime.timedelta(days=REMIND_AFTER_BUSINESS_DAYS)
    return next_opening(cal, last_day_closes).astimezone(datetime.UTC)


def customer_labels(issue: TrackerIssue) -> list[str]:
    prefix = current().customer_label_prefix
    return [name for name in selectors.labels_of(issue) if name.startswith(prefix)]


def _customers(issue: TrackerIssue) -> str:
    labels = customer_labels(issue)
    return ", ".join(f"`{label}`" for label in labels) if labels else "the customer"


def _with_login(person: Person, *, field: str) -> str:
    """The person's GitHub login: the handbook's moves assign and @-mention people on the
    public issue, where they are known by login (never by name)."""
    if not person.is_active:
        raise Invalid(f"{person.name} is no longer active", field=field)
    if not person.github_login:
        raise Invalid(f"{person.name} has no GitHub login in Ceres", field=field)
    return person.github_login


def _lock_request(issue: TrackerIssue) -> tuple[TrackerIssue, FeatureRequest]:
    locked = services._lock(issue)
    request = (
        FeatureRequest.objects.select_for_update(of=("self",))
        .select_related("product_designer", "csm")
        .filter(issue=locked)
        .first()
    )
    if request is None:
        raise NotFound("the issue is not a feature request", field="issue")
    return selectors.get_issue(locked.pk), request


def _audit(actor: Actor, issue: TrackerIssue, move: str, changes: dict[str, list[object]]) -> None:
    record_change(
        actor=actor,
        action=f"tracker.feature_request.{move}",
        target=issue,
        target_label=issue.reference,
        changes=changes,
    )


def clean_accounts(accounts: Sequence[Account]) -> list[Account]:
    unique = list({account.pk: account for account in accounts}.values())
    if not unique:
        raise Invalid("choose at least one account that asked for it", field="accounts")
    return unique


def clean_evidence_link(link: str, *, required: bool) -> str:
    """A Gong snippet, a Slack thread or meeting notes: an https address."""
    link = link.strip()
    if not link:
        if required:
            raise Invalid(
                "the customer's feedback is required when the release is missing something: "
                "a link to a Gong snippet, a Slack thread or meeting notes",
                field="evidence_link",
            )
        return ""
    if len(link) > EVIDENCE_MAX:
        raise Invalid(f"at most {EVIDENCE_MAX} characters", field="evidence_link")
    try:
        URLValidator(schemes=["https"])(link)
    except ValidationError as exc:
        raise Invalid("must be an https:// address", field="evidence_link") from exc
    return link


def evidence_kind(link: str) -> str:
    host = (urlsplit(link).hostname or "").lower()
    if host == "gong.io" or host.endswith(".gong.io"):
        return "Gong snippet"
    if host == "slack.com" or host.endswith(".slack.com"):
        return "Slack thread"
    return "meeting notes"


# --- the moves -----------------------------------------------------------------------------


@transaction.atomic
def open_feature_request(
    *,
    actor: Actor,
    title: str,
    body: str,
    accounts: Sequence[Account],
    created_by: Person | None,
) -> FeatureRequest:
    """An issue in the public repository carrying each asking account's customer label."""
    chosen = clean_accounts(accounts)
    issue = services.open_issue(
        actor=actor,
        repository=selectors.repository(TrackerRepository.Visibility.PUBLIC),
        title=title,
        body=body.strip(),
        kind=TrackerIssue.Kind.FEATURE_REQUEST,
        labels=[account.github_label for account in chosen],
        created_by=created_by,
    )
    request = FeatureRequest.objects.create(issue=issue)
    _audit(actor, issue, "open", {"accounts": [None, sorted(a.codename.name for a in chosen)]})
    return request


@transaction.atomic
def link_account(*, actor: Actor, issue: TrackerIssue, account: Account) -> bool:
    """Another account asks for the same thing: its customer label goes on the issue, once.
    Returns whether it was added (False when it was there already)."""
    issue, request = _lock_request(issue)
    _check_move(request, issue, "link_account")
    added, _ = services.change_labels(
        actor=actor,
        issue=issue,
        add=[account.github_label],
        action="tracker.feature_request.link_account",
    )
    return bool(added)


@transaction.atomic
def prioritize(*, actor: Actor, issue: TrackerIssue, product_designer: Person) -> FeatureRequest:
    """Product prioritized it: `~customer request` on the issue, and the PD who drafts it."""
    issue, request = _lock_request(issue)
    _check_move(request, issue, "prioritize")
    _with_login(product_designer, field="product_designer")
    services.change_labels(
        actor=actor,
        issue=issue,
        add=[current().customer_request_label],
        action="tracker.feature_request.prioritize",
    )
    request.prioritized_at = timezone.now()
    request.product_designer = product_designer
    request.save(update_fields=["prioritized_at", "product_designer"])
    _audit(
        actor,
        issue,
        "prioritize",
        {
            "product_designer": [None, product_designer.pk],
            "prioritized_at": [None, request.prioritized_at],
        },
    )
    return request


@transaction.atomic
def ask_for_feedback(
    *,
    actor: Actor,
    issue: TrackerIssue,
    csm: Person,
    product_designer: Person | None = None,
) -> FeatureRequest:
    """The user story is released: the PD assigns the CSM and adds `#g-unicorns`, and the CSM
    brings the improvements to the customer. Starts the CSM's reminder timer."""
    issue, request = _lock_request(issue)
    _check_move(request, issue, "ask_for_feedback")
    csm_login = _with_login(csm, field="csm")
    designer = product_designer or request.product_designer
    if designer is None:
        raise Invalid("choose the product designer to @-mention", field="product_designer")
    _with_login(designer, field="product_designer")
    waiting = stage_of(request, issue) == FeatureStage.WAITING
    previous = request.csm
    if waiting and previous == csm and request.product_designer == designer:
        raise Conflict(f"already waiting on {csm.name} for the feedback", field="csm")
    if previous is not None and previous != csm and previous.github_login:
        services.change_assignees(actor=actor, issue=issue, remove=[previous.github_login])
    services.change_assignees(actor=actor, issue=issue, add=[csm_login])
    services.change_labels(
        actor=actor,
        issue=issue,
        add=[current().feedback_label],
        action="tracker.feature_request.ask_for_feedback",
    )
    now = timezone.now()
    if not waiting or previous != csm:
        services.add_comment(
            actor=actor,
            issue=issue,
            author=person_of(actor),
            body=(
                f"@{csm_login}: the improvements for this request are released. Please bring "
                f"them to {_customers(issue)} for feedback, then record whether they meet "
                "the customer's needs."
            ),
        )
    changes: dict[str, list[object]] = {
        "csm": [request.csm_id, csm.pk],
        "product_designer": [request.product_designer_id, designer.pk],
    }
    request.csm, request.product_designer = csm, designer
    if not waiting:  # a new release goes to the customer: a new feedback round
        changes["outcome"] = [request.outcome, ""]
        request.released_at, request.reminders_sent = now, 0
        request.outcome, request.outcome_at, request.evidence_link = "", None, ""
    request.remind_at = remind_at_after(now)
    changes["remind_at"] = [None, request.remind_at]
    request.save()
    _audit(actor, issue, "ask_for_feedback", changes)
    _notify(
        csm,
        _message(issue, "asked for the customer's feedback"),
        key=f"tracker-feature-{issue.pk}-ask-{request.released_at:%Y%m%dT%H%M%S%f}-{csm.pk}",
    )
    return request


@transaction.atomic
def record_outcome(
    *,
    actor: Actor,
    issue: TrackerIssue,
    outcome: str,
    evidence_link: str = "",
    note: str = "",
) -> FeatureRequest:
    """The customer's verdict on the release. Meets the need: a comment @-mentioning the PD,
    and the issue closes. Missing something: the feedback (Gong snippet, Slack thread or
    meeting notes) in a comment @-mentioning the PD, and the CSM unassigns themselves."""
    if outcome not in (FeatureRequest.Outcome.MET, FeatureRequest.Outcome.NOT_MET):
        raise Invalid("must be met or not_met", field="outcome")
    issue, request = _lock_request(issue)
    _check_move(request, issue, "record_outcome")
    met = outcome == FeatureRequest.Outcome.MET
    link = clean_evidence_link(evidence_link, required=not met)
    note = services.clean_body(note.strip(), field="note")
    if len(note) > NOTE_MAX:
        raise Invalid(f"at most {NOTE_MAX} characters", field="note")
    designer = request.product_designer
    if designer is None or not designer.github_login:
        raise Conflict(
            "the request has no product designer with a GitHub login to @-mention: ask for "
            "feedback again naming one",
            field="product_designer",
        )
    services.check_public(issue.repository, {"evidence_link": link, "note": note})
    verdict = "meet the needs of" if met else "are missing something for"
    lines = [f"@{designer.github_login}: the released improvements {verdict} {_customers(issue)}."]
    if met:
        lines[0] += " Closing this request."
    if link:
        lines.append(f"Feedback ({evidence_kind(link)}): {link}")
    if note:
        lines.append(note)
    services.add_comment(actor=actor, issue=issue, body="\n\n".join(lines), author=person_of(actor))
    if met:
        services.set_state(actor=actor, issue=issue, state=TrackerIssue.State.CLOSED)
    elif request.csm is not None and request.csm.github_login:
        services.change_assignees(actor=actor, issue=issue, remove=[request.csm.github_login])
    request.outcome, request.outcome_at = outcome, timezone.now()
    request.evidence_link, request.remind_at = link, None
    request.save(update_fields=["outcome", "outcome_at", "evidence_link", "remind_at"])
    _audit(actor, issue, "record_outcome", {"outcome": ["", outcome], "evidence_link": ["", link]})
    return request


# --- reminders -----------------------------------------------------------------------------


def _message(issue: TrackerIssue, what: str) -> str:
    """Codenames only: the message leaves Ceres, and not every reader sees real names."""
    codenames = ", ".join(str(a) for a in selectors.accounts_labelled(customer_labels(issue)))
    link = settings.BASE_URL.rstrip("/") + reverse("tracker:issue", args=[issue.pk])
    return (
        f"[Ceres] Feature request {issue.reference}: {what}. “{issue.title[:100]}” for "
        f"{codenames or 'the customer'}. Bring the released improvements to the customer and "
        f"record whether they meet the need: {link}"
    )


def _notify(person: Person, text: str, *, key: str) -> str:
    """A Slack DM when Ceres knows the person's Slack user, else an e-mail."""
    return slack_outbox.dm_or_email(person, key=key, text=text) or "nobody"


def send_reminders(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """The periodic sweep: remind the CSM of each released request whose outcome is overdue,
    once per due time (the outbox key names the request and the reminder's number), and set
    the next due time. A request whose outcome was recorded, whose issue was closed, or whose
    CSM is gone loses its timer instead. Returns how many reminders were sent."""
    now = now or timezone.now()
    due = list(
        FeatureRequest.objects.filter(remind_at__lte=now)
        .order_by("remind_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in due:
        with acting_as(REMINDER_ACTOR), transaction.atomic():
            request = (
                FeatureRequest.objects.select_for_update(of=("self",))
                .select_related("issue__repository", "csm")
                .filter(pk=pk, remind_at__lte=now)
                .first()
            )
            if request is None:
                continue  # another worker did it, or the outcome came meanwhile
            issue = selectors.get_issue(pk)
            csm = request.csm
            waiting = stage_of(request, issue) == FeatureStage.WAITING
            if not waiting or csm is None or not csm.is_active:
                request.remind_at = None
                request.save(update_fields=["remind_at"])
                continue
            number = request.reminders_sent + 1
            via = _notify(
                csm,
                _message(issue, f"reminder {number}, the customer's feedback is due"),
                key=f"tracker-feature-{pk}-reminder-{number}",
            )
            before = request.remind_at
            request.reminders_sent = number
            request.remind_at = remind_at_after(now)
            request.save(update_fields=["reminders_sent", "remind_at"])
            _audit(
                None,
                issue,
                "reminder",
                {
                    "reminders_sent": [number - 1, number],
                    "remind_at": [before, request.remind_at],
                    "via": [None, via],
                },
            )
            sent += 1
    return sent
