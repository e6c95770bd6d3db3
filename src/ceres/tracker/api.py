"""The tracker's HTTP API, `/api/v1/tracker`: issues, bug reports, the escalation moves and the
stand-up board.

Every issue shown names customers by their codename labels only. Issues of the confidential
repository (the details that may not go public, real names included) exist only for callers
with accounts.view_confidential: to anyone else they are not listed, not found by id and not
returned by the duplicate search, so not even a search for a real name tells that one is there.
A bug report's `account` is the codename; `legal_name` is null without that permission.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from ceres.accounts import selectors as account_selectors
from ceres.accounts.models import Account
from ceres.conversations import selectors as conversation_selectors
from ceres.conversations.models import Conversation
from ceres.core.apisupport import (
    NON_BLANK_PATTERN,
    WHOLE_NUMBER,
    BodySchema,
    InputSchema,
    PageNumber,
    PageSize,
    RecordId,
    Text,
    paginate,
    request_user,
)
from ceres.core.errors import CeresError, Conflict, Invalid, NotFound, PermissionDenied
from ceres.team.selectors import person_of
from ceres.tracker import bugs, escalation, selectors, services
from ceres.tracker.models import BugReport, StandupAcknowledgement, TrackerIssue
from ceres.tracker.standup import board_calendar, business_day_on_board
from ceres.tracker.workflow import MOVES, current

router = Router(tags=["tracker"])

VIEW = "tracker.view_trackerissue"
FILE = "tracker.add_trackerissue"
CHANGE = "tracker.change_trackerissue"
MAX_FILTER_LABELS = 10
MAX_LABEL_CHANGES = 20
MAX_SIMILAR = 20
SIMILAR_TEXT_MAX = 2_000
MAX_NOTE = 2_000
NEEDS_UPDATE_ROWS = 50
MOVE_FUNCTIONS = {
    "escalate": escalation.escalate,
    "reproduced": escalation.mark_reproduced,
    "not_reproduced": escalation.mark_not_reproduced,
}

# --- output ----------------------------------------------------------------------------------


class TrackerIssueOut(Schema):
    id: int
    reference: str
    repository: str
    number: int | None
    kind: str
    title: str
    state: str
    labels: list[str]
    assignees: list[str]
    # Bugs only: incoming, investigating, needs_update, product, closed or other.
    stage: str | None
    author_login: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TrackerIssuePage(Schema):
    items: list[TrackerIssueOut]
    count: int
    page: int
    page_size: int


class IssueCommentOut(Schema):
    id: int
    author: str | None  # the team member's name, else the GitHub login
    author_login: str
    body: str
    created_at: datetime.datetime


class BugReportOut(Schema):
    account_id: int
    account: str  # the codename
    # Confidential: null unless the caller has accounts.view_confidential.
    legal_name: str | None
    confidential_issue_id: int | None
    conversation_id: int | None
    filed_by: str | None
    filed_at: datetime.datetime
    server_version: str
    agent_version: str
    agent_kind: str
    operating_system: str
    web_browser: str
    expected_behavior: str
    actual_behavior: str
    reproduction_steps: str
    steps_from_customer: bool
    details: dict[str, Any]
    has_debug_archive: bool


class TrackerIssueDetail(TrackerIssueOut):
    body: str
    # The escalation moves the bug's stage allows (POST …/moves/{move}).
    moves: list[str]
    on_board_since: datetime.datetime | None
    board_expires_at: datetime.datetime | None
    needs_update_since: datetime.datetime | None
    bug_report: BugReportOut | None
    comments: list[IssueCommentOut]


class SimilarIssueOut(Schema):
    issue_id: int
    reference: str
    title: str
    state: str
    score: float  # higher is more similar; comparable within one answer only


class IssueLabelsOut(Schema):
    added: list[str]
    removed: list[str]
    labels: list[str]


class AcknowledgementOut(Schema):
    issue_id: int
    day: datetime.date
    acknowledged_by: str | None
    comment_id: int | None
    at: datetime.datetime


class StandupRowOut(TrackerIssueOut):
    on_board_since: datetime.datetime | None
    board_expires_at: datetime.datetime | None
    business_day: int | None  # 1 on the first business day on the board, 2 on the second…
    acknowledged_today: bool
    customers: list[str]  # codenames


class StandupOut(Schema):
    today: datetime.date
    unacknowledged: int
    items: list[StandupRowOut]
    # ~investigate came off by itself: logs, reproduction steps and details are due (newest 50).
    needs_update: list[TrackerIssueOut]


# --- input -----------------------------------------------------------------------------------

StateFilter = Literal["open", "closed", "all"]
KindIn = Literal["bug", "feature_request", "other"]
LabelName = Annotated[str, Field(min_length=1, max_length=services.MAX_LABEL)]


class IssueFilters(InputSchema):
    """`label` may be repeated: issues carrying all of them."""

    state: StateFilter = "open"
    kind: KindIn | Literal[""] = ""
    label: Annotated[list[LabelName], Field(max_length=MAX_FILTER_LABELS)] = []
    page: PageNumber = 1
    page_size: PageSize = 50


class SimilarFilters(InputSchema):
    text: Annotated[str, Field(max_length=SIMILAR_TEXT_MAX)]
    kind: KindIn | Literal[""] = ""
    limit: Annotated[int, Field(ge=1, le=MAX_SIMILAR)] = 8


# Required texts with something besides spaces in them (the services name a blank one).
_NON_BLANK = {"pattern": NON_BLANK_PATTERN}
Title = Annotated[str, Field(max_length=services.MAX_TITLE, json_schema_extra=_NON_BLANK)]
Version = Annotated[
    str, Field(max_length=bugs.SHORT_MAX["server_version"], json_schema_extra=_NON_BLANK)
]
Platform = Annotated[
    str, Field(max_length=bugs.SHORT_MAX["operating_system"], json_schema_extra=_NON_BLANK)
]
Behavior = Annotated[str, Field(max_length=bugs.TEXT_MAX, json_schema_extra=_NON_BLANK)]
CommentBody = Annotated[str, Field(max_length=services.MAX_BODY, json_schema_extra=_NON_BLANK)]
Count = Annotated[int, Field(ge=0, le=bugs.MAX_COUNT), WHOLE_NUMBER]
DetailText = Annotated[str, Field(max_length=bugs.DETAIL_TEXT_MAX)]


class BugDetailsIn(BodySchema):
    """The handbook's nice-to-have details (tracker.bugs.DETAILS); null or left out: unknown."""

    total_hosts: Count | None = None
    online_hosts: Count | None = None
    scheduled_queries: Count | None = None
    instances: DetailText | None = None
    instance_usage: DetailText | None = None
    mysql_version: DetailText | None = None
    mysql_capacity: DetailText | None = None
    mysql_usage: DetailText | None = None
    mysql_read_replicas: Count | None = None
    redis_version: DetailText | None = None
    redis_cluster_mode: Literal["yes", "no"] | None = None
    redis_usage: DetailText | None = None


class BugReportIn(BodySchema):
    """From a conversation (whose account it is for) or an account. The required details are
    in the handbook's order, so the first one missing is the one named."""

    account_id: RecordId | None = None
    conversation_id: RecordId | None = None
    title: Title
    server_version: Version
    agent_version: Version
    agent_kind: Literal["osquery", "fleetd"]
    operating_system: Platform
    web_browser: Platform
    expected_behavior: Behavior
    actual_behavior: Behavior
    reproduction_steps: Behavior
    steps_from_customer: bool = False
    details: BugDetailsIn = BugDetailsIn()
    # Real names, hostnames: an issue in the confidential repository that links to this one.
    confidential_details: Annotated[str, Field(max_length=services.MAX_BODY)] = ""


Note = Annotated[str, Field(max_length=MAX_NOTE)]


class SameIssueIn(BodySchema):
    account_id: RecordId
    conversation_id: RecordId | None = None
    note: Note = ""


class AcknowledgeIn(BodySchema):
    note: Note = ""


class IssueCommentIn(BodySchema):
    body: CommentBody


class IssueLabelsIn(BodySchema):
    add: Annotated[list[LabelName], Field(max_length=MAX_LABEL_CHANGES)] = []
    remove: Annotated[list[LabelName], Field(max_length=MAX_LABEL_CHANGES)] = []


class IssueStateIn(BodySchema):
    state: Literal["open", "closed"]


# --- helpers ---------------------------------------------------------------------------------


def _require(request: HttpRequest, perm: str) -> None:
    """Checked before any lookup, so a 403 never tells whether the record exists."""
    if not request_user(request).has_perm(perm):
        raise PermissionDenied(f"you need the permission {perm}")


def _confidential(request: HttpRequest) -> bool:
    return account_selectors.can_view_confidential(request_user(request))


def _visible(request: HttpRequest, qs: QuerySet[TrackerIssue]) -> QuerySet[TrackerIssue]:
    return selectors.visible_to(request_user(request), qs)


def _issue(request: HttpRequest, issue_id: int) -> TrackerIssue:
    return selectors.get_issue_for(request_user(request), issue_id)


def issue_fields(issue: TrackerIssue) -> dict[str, Any]:
    """An issue whose labels and assignees are prefetched (selectors.with_rows / get_issue)."""
    return {
        "id": issue.pk,
        "reference": issue.reference,
        "repository": issue.repository.name,
        "number": issue.number,
        "kind": issue.kind,
        "title": issue.title,
        "state": issue.state,
        "labels": selectors.labels_of(issue),
        "assignees": selectors.assignees_of(issue),
        "stage": escalation.stage(issue) if issue.kind == TrackerIssue.Kind.BUG else None,
        "author_login": issue.author_login,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
    }


def _report_fields(report: BugReport, *, confidential: bool) -> dict[str, Any]:
    account = report.account
    return {
        "account_id": account.pk,
        "account": account.codename.name,
        "legal_name": account.legal_name if confidential else None,
        "confidential_issue_id": report.confidential_issue_id if confidential else None,
        "conversation_id": report.conversation_id,
        "filed_by": report.filed_by.name if report.filed_by else None,
        "filed_at": report.filed_at,
        "server_version": report.server_version,
        "agent_version": report.agent_version,
        "agent_kind": report.agent_kind,
        "operating_system": report.operating_system,
        "web_browser": report.web_browser,
        "expected_behavior": report.expected_behavior,
        "actual_behavior": report.actual_behavior,
        "reproduction_steps": report.reproduction_steps,
        "steps_from_customer": report.steps_from_customer,
        "details": report.details,
        "has_debug_archive": bool(report.debug_archive),
    }


def issue_detail(request: HttpRequest, issue: TrackerIssue) -> dict[str, Any]:
    fields = issue_fields(issue)
    report = (
        BugReport.objects.filter(pk=issue.pk)
        .select_related("account__codename", "filed_by")
        .first()
    )
    stage = fields["stage"]
    return {
        **fields,
        "body": issue.body,
        "moves": [move for move, allowed in MOVES.items() if stage in allowed] if stage else [],
        "on_board_since": issue.on_board_since,
        "board_expires_at": issue.board_expires_at,
        "needs_update_since": issue.needs_update_since,
        "bug_report": _report_fields(report, confidential=_confidential(request))
        if report is not None
        else None,
        "comments": [
            {
                "id": c.pk,
                "author": c.author.name if c.author else (c.author_login or None),
                "author_login": c.author_login,
                "body": c.body,
                "created_at": c.created_at,
            }
            for c in escalation.comments_of(issue)
        ],
    }


def _origin(
    account_id: int | None, conversation_id: int | None
) -> tuple[Account, Conversation | None]:
    """The account a report is for: the conversation's, or the one named. A record named in a
    body that does not exist is a 422 naming the field (the path's ids are the 404s)."""
    conversation = None
    if conversation_id is not None:
        try:
            conversation = conversation_selectors.get_conversation(conversation_id)
        except NotFound:
            raise Invalid("no such conversation", field="conversation_id") from None
        if conversation.account_id is None:
            raise Invalid(
                "this conversation has no account: link it to the customer's account first",
                field="conversation_id",
            )
        if account_id is not None and account_id != conversation.account_id:
            raise Invalid("is not the conversation's account", field="account_id")
        account_id = conversation.account_id
    if account_id is None:
        raise Invalid("give the account_id or the conversation_id", field="account_id")
    try:
        return account_selectors.get_account(account_id), conversation
    except NotFound:
        raise Invalid("no such account", field="account_id") from None


DETAIL_KEYS = frozenset(key for key, _label, _kind in bugs.DETAILS)


# --- issues ----------------------------------------------------------------------------------


@router.get("/issues", response=TrackerIssuePage, summary="Issues, filtered, newest first")
def list_issues(request: HttpRequest, filters: Query[IssueFilters]) -> dict[str, Any]:
    _require(request, VIEW)
    qs = _visible(request, TrackerIssue.objects.all())
    if filters.state != "all":
        qs = qs.filter(state=filters.state)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    for name in dict.fromkeys(filters.label):
        qs = qs.filter(selectors.with_label(name))
    page = paginate(
        selectors.with_rows(qs.order_by("-created_at", "-id")),
        page=filters.page,
        page_size=filters.page_size,
        count_from=qs,
    )
    return {
        "items": [issue_fields(issue) for issue in page.items],
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
    }


@router.get(
    "/issues/similar",
    response=list[SimilarIssueOut],
    summary="Issues like a text, most similar first (the search before filing)",
)
def similar_issues(request: HttpRequest, filters: Query[SimilarFilters]) -> list[dict[str, Any]]:
    _require(request, VIEW)
    visible = selectors.similar_for(
        request_user(request),
        filters.text,
        limit=filters.limit,
        kind=filters.kind or None,
        most=8 * MAX_SIMILAR,
    )
    return [
        {
            "issue_id": r.issue_id,
            "reference": r.reference,
            "title": r.title,
            "state": r.state,
            "score": r.score,
        }
        for r in visible
    ]


@router.get("/issues/{issue_id}", response=TrackerIssueDetail)
def get_issue(request: HttpRequest, issue_id: RecordId) -> dict[str, Any]:
    _require(request, VIEW)
    return issue_detail(request, _issue(request, issue_id))


@router.post(
    "/bug-reports",
    response={201: TrackerIssueDetail},
    summary="File a customer bug report (public issue; codename label only)",
)
def file_bug_report(request: HttpRequest, payload: BugReportIn) -> tuple[int, dict[str, Any]]:
    _require(request, FILE)
    account, conversation = _origin(payload.account_id, payload.conversation_id)
    data = bugs.BugReportInput(
        **payload.model_dump(exclude={"account_id", "conversation_id", "details"}),
        details=payload.details.model_dump(exclude_none=True),
    )
    try:
        report = bugs.file_bug_report(
            actor=request_user(request),
            account=account,
            data=data,
            filed_by=person_of(request_user(request)),
            conversation=conversation,
        )
    except CeresError as exc:
        if exc.field in DETAIL_KEYS:  # the services name a detail by its key alone
            raise type(exc)(exc.message, field=f"details.{exc.field}") from None
        raise
    return 201, issue_detail(request, selectors.get_issue(report.pk))


@router.post("/issues/{issue_id}/same-issue", response=TrackerIssueOut)
def same_issue(request: HttpRequest, issue_id: RecordId, payload: SameIssueIn) -> dict[str, Any]:
    """The customer has this issue too: their label and a comment, instead of a duplicate."""
    _require(request, CHANGE)
    issue = _issue(request, issue_id)
    account, conversation = _origin(payload.account_id, payload.conversation_id)
    bugs.same_issue(
        actor=request_user(request),
        issue=issue,
        account=account,
        person=person_of(request_user(request)),
        note=payload.note,
        conversation=conversation,
    )
    return issue_fields(selectors.get_issue(issue.pk))


@router.post(
    "/issues/{issue_id}/moves/{move}",
    response=TrackerIssueOut,
    summary="An escalation move: escalate, reproduced or not_reproduced",
)
def move_issue(
    request: HttpRequest, issue_id: RecordId, move: Annotated[Text, Field(max_length=40)]
) -> dict[str, Any]:
    _require(request, CHANGE)
    function = MOVE_FUNCTIONS.get(move)
    if function is None:
        raise NotFound(f"no move {move[:40]!r}: {', '.join(MOVE_FUNCTIONS)}", field="move")
    issue = _issue(request, issue_id)
    if issue.kind != TrackerIssue.Kind.BUG:
        raise Conflict("the escalation moves are for bugs, and this issue is not one", field="kind")
    return issue_fields(function(actor=request_user(request), issue=issue))


@router.post(
    "/issues/{issue_id}/acknowledge",
    response=AcknowledgementOut,
    summary="Acknowledge at today's stand-up (a comment; once a day)",
)
def acknowledge(request: HttpRequest, issue_id: RecordId, payload: AcknowledgeIn) -> dict[str, Any]:
    _require(request, CHANGE)
    issue = _issue(request, issue_id)
    ack = escalation.acknowledge(
        actor=request_user(request),
        issue=issue,
        person=person_of(request_user(request)),
        note=payload.note,
    )
    by = ack.acknowledged_by
    return {
        "issue_id": issue.pk,
        "day": ack.day,
        "acknowledged_by": by.name if by else None,
        "comment_id": ack.comment_id,
        "at": ack.at,
    }


@router.post("/issues/{issue_id}/comments", response={201: IssueCommentOut})
def add_comment(
    request: HttpRequest, issue_id: RecordId, payload: IssueCommentIn
) -> tuple[int, dict[str, Any]]:
    _require(request, CHANGE)
    person = person_of(request_user(request))
    comment = services.add_comment(
        actor=request_user(request),
        issue=_issue(request, issue_id),
        body=payload.body,
        author=person,
    )
    return 201, {
        "id": comment.pk,
        "author": person.name if person else (comment.author_login or None),
        "author_login": comment.author_login,
        "body": comment.body,
        "created_at": comment.created_at,
    }


@router.post("/issues/{issue_id}/labels", response=IssueLabelsOut)
def change_labels(
    request: HttpRequest, issue_id: RecordId, payload: IssueLabelsIn
) -> dict[str, Any]:
    _require(request, CHANGE)
    issue = _issue(request, issue_id)
    if not payload.add and not payload.remove:
        raise Invalid("name a label to add or remove", field="add")
    added, removed = services.change_labels(
        actor=request_user(request), issue=issue, add=payload.add, remove=payload.remove
    )
    labels = selectors.labels_of(selectors.get_issue(issue.pk))
    return {"added": added, "removed": removed, "labels": labels}


@router.post("/issues/{issue_id}/state", response=TrackerIssueOut, summary="Close or reopen")
def set_state(request: HttpRequest, issue_id: RecordId, payload: IssueStateIn) -> dict[str, Any]:
    _require(request, CHANGE)
    issue = _issue(request, issue_id)
    services.set_state(actor=request_user(request), issue=issue, state=payload.state)
    return issue_fields(selectors.get_issue(issue.pk))


# --- the stand-up board ----------------------------------------------------------------------


@router.get(
    "/standup",
    response=StandupOut,
    summary="The stand-up board: ~investigate issues, their business day, today's acknowledgement",
)
def standup(request: HttpRequest) -> dict[str, Any]:
    _require(request, VIEW)
    wf = current()
    now = timezone.now()
    cal = board_calendar(wf.calendar)
    today = escalation.today_on_board(now)
    open_issues = _visible(request, TrackerIssue.objects.filter(state=TrackerIssue.State.OPEN))
    on_board = list(
        selectors.with_rows(
            open_issues.filter(selectors.with_label(wf.standup_label)).order_by(
                "on_board_since", "id"
            )
        )
    )
    acked_today = set(
        StandupAcknowledgement.objects.filter(issue__in=on_board, day=today).values_list(
            "issue_id", flat=True
        )
    )
    labels = {issue.pk: selectors.labels_of(issue) for issue in on_board}
    codenames = {
        account.github_label: account.codename.name
        for account in selectors.accounts_labelled({n for names in labels.values() for n in names})
    }
    items = [
        {
            **issue_fields(issue),
            "on_board_since": issue.on_board_since,
            "board_expires_at": issue.board_expires_at,
            "business_day": business_day_on_board(cal, issue.on_board_since, now)
            if issue.on_board_since
            else None,
            "acknowledged_today": issue.pk in acked_today,
            "customers": [codenames[n] for n in labels[issue.pk] if n in codenames],
        }
        for issue in on_board
    ]
    needs_update = selectors.with_rows(
        open_issues.filter(needs_update_since__isnull=False).exclude(
            selectors.with_label(wf.standup_label)
        )
    ).order_by("-needs_update_since", "-id")[:NEEDS_UPDATE_ROWS]
    return {
        "today": today,
        "unacknowledged": sum(1 for item in items if not item["acknowledged_today"]),
        "items": items,
        "needs_update": [issue_fields(issue) for issue in needs_update],
    }
