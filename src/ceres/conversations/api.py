from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from ceres.accounts.selectors import get_account
from ceres.conversations import contact_form, selectors, services
from ceres.conversations.models import Conversation, Message
from ceres.core.apisupport import (
    NON_BLANK_PATTERN,
    AwareDateTime,
    BodySchema,
    InputSchema,
    PageNumber,
    PageSize,
    RecordId,
    Slug,
    Text,
    document_nul_free,
    paginate,
    request_user,
)
from ceres.core.errors import Invalid, PermissionDenied
from ceres.team.models import Person

router = Router(tags=["conversations"])
HIDDEN = None  # confidential requester fields are null for viewers without the permission


class MessageOut(Schema):
    id: int
    kind: str
    author: str | None
    body: str
    is_automatic: bool
    created_at: datetime.datetime


class ConversationOut(Schema):
    id: int
    source: str
    category: str
    subject: str
    status: str
    priority: str
    account_id: int | None
    account: str | None  # the codename, or the real name with accounts.view_confidential
    assignee: str | None
    requester_name: str | None
    requester_email: str | None
    tags: list[str]
    fields: dict[str, Any]
    received_at: datetime.datetime
    first_responded_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    closure_note: str


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


class ConversationPage(Schema):
    items: list[ConversationOut]
    count: int
    # True when the count stopped at a cap (closed and all queues: "10,000+"): there are more.
    count_is_lower_bound: bool = False
    page: int
    page_size: int


# The models' choices and lengths, spelt out so the OpenAPI document states them (a test
# checks that they match the models).
StatusIn = Literal["open", "waiting_on_customer", "on_hold", "closed"]
PriorityIn = Literal["P0", "P1", "P2", "P3"]
SourceIn = Literal["slack", "contact_form", "email", "api"]
QueueIn = Literal["all_open", "mine", "unassigned", "breaching_soon", "closed", "all"]
MessageBody = Annotated[str, Field(max_length=services.MAX_BODY)]
# Something besides spaces (the services refuse a blank message, naming the field).
RequiredBody = Annotated[
    str, Field(max_length=services.MAX_BODY, json_schema_extra={"pattern": NON_BLANK_PATTERN})
]
Username = Annotated[str, Field(max_length=150)]
Email = Annotated[str, Field(max_length=254)]
SavedReplyKey = Annotated[str, Field(max_length=60)]
Variables = dict[str, str]


class ConversationIn(BodySchema):
    subject: str = Field("", max_length=300)
    body: RequiredBody
    source: Literal["api", "email"] = "api"
    category: Slug = "support"
    account_id: RecordId | None = None
    requester_name: str = Field("", max_length=200)
    requester_email: Email = ""
    priority: PriorityIn = "P3"
    fields: dict[str, str | int | float | bool] = {}
    received_at: AwareDateTime | None = None


class ConversationPatch(BodySchema):
    status: StatusIn | None = None
    priority: PriorityIn | None = None
    assignee: Username | None = Field(None, description="a username, or empty to unassign")
    category: Slug | None = None
    closure_note: MessageBody | None = None
    closure_note_from_last_reply: bool = False
    tags: list[Slug] | None = None


def _body_or_saved_reply(schema: dict[str, Any]) -> None:
    # A message is its body, or a saved reply's; the services refuse one with neither.
    document_nul_free(schema)
    schema["anyOf"] = [
        {"required": ["body"], "properties": {"body": {"pattern": NON_BLANK_PATTERN}}},
        {"required": ["saved_reply"], "properties": {"saved_reply": {"minLength": 1}}},
    ]


class MessageIn(BodySchema):
    model_config = ConfigDict(json_schema_extra=_body_or_saved_reply)

    kind: Literal["reply", "note", "inbound"]
    body: MessageBody = ""
    saved_reply: SavedReplyKey = ""
    variables: Variables = {}
    cc: list[Email] = []


class JobApplicationReplyIn(BodySchema):
    variables: Variables = {}


class ConversationFilters(InputSchema):
    """Empty means "any"; `assignee` is a username, or `none` for the unassigned."""

    queue: QueueIn = "all_open"
    status: Literal[StatusIn, ""] = ""
    source: Literal[SourceIn, ""] = ""
    category: Annotated[str, Field(max_length=60)] = ""
    priority: Literal[PriorityIn, ""] = ""
    account_id: RecordId | None = None
    assignee: Username = ""
    tag: Annotated[str, Field(max_length=60)] = ""
    q: Annotated[str, Field(max_length=200)] = ""
    page: PageNumber = 1
    page_size: PageSize = 50


class SavedReplyFilters(InputSchema):
    category: Annotated[str, Field(max_length=60)] = ""


class SavedReplyOut(Schema):
    key: str
    name: str
    subject: str
    body: str
    category: str
    variables: list[str]


class RenderIn(BodySchema):
    conversation_id: RecordId
    variables: Variables = {}


def _require(request: HttpRequest, perm: str) -> None:
    if not request_user(request).has_perm(perm):
        raise PermissionDenied(f"you need the permission {perm}")


def conversation_fields(c: Conversation, request: HttpRequest) -> dict[str, Any]:
    user = request_user(request)
    visible = selectors.requester_visible(c, user)
    account_name = None
    if c.account is not None:
        account_name = c.account.legal_name if visible else c.account.codename.name
    return {
        "id": c.pk,
        "source": c.source,
        "category": c.category,
        "subject": c.subject,
        "status": c.status,
        "priority": c.priority,
        "account_id": c.account_id,
        "account": account_name,
        "assignee": c.assignee.user.username if c.assignee else None,
        "requester_name": c.requester_name if visible else HIDDEN,
        "requester_email": c.requester_email if visible else HIDDEN,
        "tags": sorted(t.name for t in c.tags.all()),
        "fields": c.fields,
        "received_at": c.received_at,
        "first_responded_at": c.first_responded_at,
        "closed_at": c.closed_at,
        "closure_note": c.closure_note,
    }


def message_fields(m: Message, *, requester_visible: bool) -> dict[str, Any]:
    author = m.author_name or None
    if m.kind == Message.Kind.INBOUND and not requester_visible:
        author = HIDDEN
    return {
        "id": m.pk,
        "kind": m.kind,
        "author": author,
        "body": m.body,
        "is_automatic": m.is_automatic,
        "created_at": m.created_at,
    }


def detail(c: Conversation, request: HttpRequest) -> dict[str, Any]:
    visible = selectors.requester_visible(c, request_user(request))
    return {
        **conversation_fields(c, request),
        "messages": [
            message_fields(m, requester_visible=visible) for m in selectors.messages_of(c)
        ],
    }


@router.get("", response=ConversationPage, summary="Conversations: queues, filters, search")
def list_conversations(request: HttpRequest, filters: Query[ConversationFilters]) -> dict[str, Any]:
    _require(request, "conversations.view_conversation")
    qs = (
        selectors.conversation_list(
            user=request_user(request),
            **filters.model_dump(exclude={"page", "page_size"}),
        )
        .select_related("assignee__user")
        .prefetch_related("tags")
    )
    capped = filters.queue not in selectors.OPEN_QUEUES
    page = paginate(
        qs,
        page=filters.page,
        page_size=filters.page_size,
        count=selectors.count_capped if capped else None,
        window=selectors.page_of,
    )
    return {
        "items": [conversation_fields(c, request) for c in page.items],
        "count": int(page.count),
        "count_is_lower_bound": isinstance(page.count, selectors.AtLeast),
        "page": page.page,
        "page_size": page.page_size,
    }


@router.post("", response={201: ConversationDetail}, summary="Open a conversation")
def open_conversation(request: HttpRequest, payload: ConversationIn) -> tuple[int, dict[str, Any]]:
    _require(request, "conversations.add_conversation")
    values = payload.model_dump()
    account_id = values.pop("account_id")
    account = get_account(account_id) if account_id is not None else None
    conversation = services.open_conversation(
        actor=request_user(request), account=account, **values
    )
    return 201, detail(conversation, request)


@router.get("/saved-replies", response=list[SavedReplyOut], summary="Saved replies")
def list_saved_replies(
    request: HttpRequest, filters: Query[SavedReplyFilters]
) -> list[dict[str, Any]]:
    _require(request, "conversations.view_conversation")
    return [
        {
            "key": s.key,
            "name": s.name,
            "subject": s.subject,
            "body": s.body,
            "category": s.category,
            "variables": services.variables_of(s.body),
        }
        for s in selectors.saved_replies(category=filters.category)
    ]


@router.post("/saved-replies/{key}/render", response=dict[str, str])
def render_saved_reply(
    request: HttpRequest, key: Annotated[Text, Field(max_length=60)], payload: RenderIn
) -> dict[str, str]:
    _require(request, "conversations.view_conversation")
    saved = selectors.get_saved_reply(key)
    conversation = selectors.get_conversation(payload.conversation_id)
    text = services.render_saved_reply(
        saved_reply=saved, conversation=conversation, variables=payload.variables
    )
    subject = services.render_template(
        saved.subject, conversation=conversation, variables=payload.variables
    )
    return {"subject": subject, "body": text}


@router.get("/{conversation_id}", response=ConversationDetail)
def get_conversation(request: HttpRequest, conversation_id: RecordId) -> dict[str, Any]:
    _require(request, "conversations.view_conversation")
    return detail(selectors.get_conversation(conversation_id), request)


@router.patch("/{conversation_id}", response=ConversationDetail)
def update_conversation(
    request: HttpRequest, conversation_id: RecordId, payload: ConversationPatch
) -> dict[str, Any]:
    _require(request, "conversations.change_conversation")
    conversation = selectors.get_conversation(conversation_id)
    changes = payload.model_dump(exclude_unset=True)
    if "assignee" in changes:
        username = changes.pop("assignee") or ""
        assignee = None
        if username:
            assignee = Person.objects.filter(user__username=username).first()
            if assignee is None:
                raise Invalid(f"no team member {username!r}", field="assignee")
        changes["assignee"] = assignee
    services.update_conversation(actor=request_user(request), conversation=conversation, **changes)
    return detail(conversation, request)


@router.post("/{conversation_id}/messages", response={201: MessageOut})
def add_message(
    request: HttpRequest, conversation_id: RecordId, payload: MessageIn
) -> tuple[int, dict[str, Any]]:
    _require(request, "conversations.add_message")
    conversation = selectors.get_conversation(conversation_id)
    user = request_user(request)
    body = payload.body
    subject = ""
    if payload.saved_reply:
        saved = selectors.get_saved_reply(payload.saved_reply)
        body = services.render_saved_reply(
            saved_reply=saved, conversation=conversation, variables=payload.variables
        )
        subject = services.render_template(
            saved.subject, conversation=conversation, variables=payload.variables
        )
    if payload.kind == "reply":
        message = services.reply(
            actor=user, conversation=conversation, body=body, cc=payload.cc, subject=subject
        )
    elif payload.kind == "note":
        message = services.add_note(actor=user, conversation=conversation, body=body)
    else:
        message = services.add_inbound_message(conversation=conversation, body=body)
    visible = selectors.requester_visible(conversation, user)
    return 201, message_fields(message, requester_visible=visible)


@router.post(
    "/{conversation_id}/job-application-reply",
    response=ConversationDetail,
    summary="Answer a job application: the saved reply by e-mail, Head of People in CC, closed",
)
def job_application_reply(
    request: HttpRequest, conversation_id: RecordId, payload: JobApplicationReplyIn
) -> dict[str, Any]:
    # It replies and closes, so it needs what each of those needs on its own.
    _require(request, "conversations.add_message")
    _require(request, "conversations.change_conversation")
    conversation = selectors.get_conversation(conversation_id)
    contact_form.reply_to_job_application(
        actor=request_user(request), conversation=conversation, variables=payload.variables
    )
    return detail(conversation, request)
