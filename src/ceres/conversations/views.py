"""A conversation's page: the thread, the reply box with saved replies, the SLA clocks, the
status controls (closing needs a closure note) and the history. The inbox is in
`inbox_views`, an account's support status in `status_views`.

Reads go through selectors, writes through services. Confidentiality as on the account pages:
without `accounts.view_confidential` an account is shown by its codename, and a conversation
that belongs to an account shows neither its requester nor the customer's names inside its
texts (`display.Masker`). Every view checks its permission before it looks anything up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import reswap, retarget

from ceres.accounts import selectors as account_selectors
from ceres.conversations import selectors, services
from ceres.conversations.display import (
    Masker,
    account_label,
    clock_views,
    countdown,
    masker_for,
)
from ceres.conversations.forms import (
    ConversationUpdateForm,
    ReplyForm,
    SavedReplyForm,
    conversation_initial,
    variables_from,
)
from ceres.conversations.models import Conversation, Message
from ceres.core.audit.selectors import history_for
from ceres.core.errors import CeresError, Invalid
from ceres.core.web import (
    HtmxHttpRequest,
    apply_error,
    form_errors,
    history_rows,
    is_fragment,
    require,
    ui_view,
    viewer,
)
from ceres.sla import selectors as sla_selectors
from ceres.team import selectors as team_selectors
from ceres.team.models import Person

VIEW = "conversations.view_conversation"
CHANGE = "conversations.change_conversation"
ADD_MESSAGE = "conversations.add_message"
EMAILED = (Conversation.Source.EMAIL, Conversation.Source.CONTACT_FORM)


@dataclass(frozen=True)
class MessageRow:
    message: Message
    author: str | None  # None: the requester, confidential for this viewer
    body: str


def _people_for(conversation: Conversation) -> list[Person]:
    people = list(team_selectors.people(active_only=True))
    if conversation.assignee is not None and conversation.assignee not in people:
        people.append(conversation.assignee)
    return people


def _history(
    conversation: Conversation, user: Any, confidential: bool, mask: Masker, people: list[Person]
) -> list[dict[str, Any]]:
    lines = history_for(conversation, can_view_confidential=confidential)
    names: dict[str, dict[str, str]] = {
        "assignee": {str(p.pk): p.name for p in people},
        "source": {k: str(v) for k, v in Conversation.Source.choices},
        "status": {k: str(v) for k, v in Conversation.Status.choices},
    }
    if conversation.account is not None:
        names["account"] = {str(conversation.account.pk): account_label(conversation, user)}
    rows = history_rows(lines, names, skip=("message", "note"))
    for row in rows:
        if row["entry"].action == "conversation.open":  # shown as a creation: values only
            row["created"] = True
            row["changes"] = [c for c in row["changes"] if c["after"] not in (None, "")]
        if mask:
            for change in row["changes"]:
                for side in ("before", "after"):
                    if isinstance(change[side], str):
                        change[side] = mask(change[side])
    return rows


def _context(request: HtmxHttpRequest, conversation: Conversation, **extra: Any) -> dict[str, Any]:
    user = viewer(request)
    now = timezone.now()
    confidential = account_selectors.can_view_confidential(user)
    visible = selectors.requester_visible(conversation, user)
    contacts = account_selectors.contacts_of(conversation.account) if conversation.account else []
    mask = masker_for(conversation, visible=visible, others=[c.name for c in contacts])
    messages = list(selectors.messages_of(conversation))
    rows = [
        MessageRow(
            message=m,
            author=(m.author_name or "Requester")
            if m.kind != Message.Kind.INBOUND or visible
            else None,
            body=mask(m.body),
        )
        for m in messages
    ]
    replies = [m for m in messages if m.kind == Message.Kind.REPLY]
    tags = list(conversation.tags.values_list("name", flat=True))
    people = _people_for(conversation)
    clocks = sla_selectors.clocks_by_conversation([conversation.pk])[conversation.pk]
    person = getattr(user, "person", None)
    context: dict[str, Any] = {
        "conversation": conversation,
        "subject": mask(conversation.subject),
        "account_name": account_label(conversation, user),
        "confidential": confidential,
        "requester_visible": visible,
        "thread_messages": rows,
        "last_reply": mask(replies[-1].body) if replies else "",
        "tags": tags,
        "fields": {k: mask(str(v)) for k, v in conversation.fields.items()},
        "closure_note": mask(conversation.closure_note),
        "clocks": clock_views(clocks, now),
        "countdown": countdown(conversation.next_due_at, now) if conversation.next_due_at else None,
        "history": _history(conversation, user, confidential, mask, people),
        "can_change": user.has_perm(CHANGE),
        "can_message": user.has_perm(ADD_MESSAGE),
        "emailed": conversation.source in EMAILED,
        "me": person,
        "reply_form": ReplyForm(initial={"kind": "reply"}),
        "saved_form": SavedReplyForm(
            saved_replies=list(selectors.saved_replies(category=conversation.category))
        ),
        "update_form": ConversationUpdateForm(
            people=people, initial=conversation_initial(conversation, tags)
        ),
        "open_close": False,
    }
    context.update(extra)
    return context


@require_safe
@ui_view
def conversation_page(request: HtmxHttpRequest, conversation_id: int) -> HttpResponse:
    require(request, VIEW)
    conversation = selectors.get_conversation(conversation_id)
    # "e" in the inbox lands here with the closure-note form open.
    open_close = request.GET.get("close") == "1" and not conversation.is_closed
    context = _context(request, conversation, open_close=open_close)
    return render(request, "conversations/detail.html", context)


def _done(request: HtmxHttpRequest, conversation: Conversation, anchor: str) -> HttpResponse:
    """After a write: the whole conversation again (thread, clocks, controls and history all
    change together), or a redirect for a browser without JavaScript."""
    if not is_fragment(request):
        return redirect(reverse("conversations:detail", args=[conversation.pk]) + anchor)
    conversation = selectors.get_conversation(conversation.pk)
    response = render(request, "conversations/_conversation.html", _context(request, conversation))
    return reswap(retarget(response, "#conversation"), "outerHTML")


def _failed(
    request: HtmxHttpRequest,
    conversation: Conversation,
    fragment: str,
    status: int,
    **extra: Any,
) -> HttpResponse:
    context = _context(request, conversation, **extra)
    template = fragment if is_fragment(request) else "conversations/detail.html"
    return render(request, template, context, status=status)


@require_POST
@ui_view
def message_add(request: HtmxHttpRequest, conversation_id: int) -> HttpResponse:
    """A public reply (e-mailed to contact-form and e-mail requesters) or an internal note."""
    require(request, ADD_MESSAGE)
    conversation = selectors.get_conversation(conversation_id)
    form = ReplyForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        user = viewer(request)
        try:
            if data["kind"] == "note":
                services.add_note(actor=user, conversation=conversation, body=data["body"])
            else:
                if data["cc"] and conversation.source not in EMAILED:
                    raise Invalid("only e-mail conversations can copy someone", field="cc")
                services.reply(
                    actor=user,
                    conversation=conversation,
                    body=data["body"],
                    cc=data["cc"],
                    subject=data["subject"],
                )
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
        else:
            return _done(request, conversation, "#thread")
    return _failed(
        request,
        conversation,
        "conversations/_reply_box.html",
        status,
        reply_form=form,
        reply_errors=form_errors(form),
    )


@require_POST
@ui_view
def saved_reply_insert(request: HtmxHttpRequest, conversation_id: int) -> HttpResponse:
    """The reply box with a saved reply filled in for this conversation. A variable with no
    value is named inline, with a field to type it (`var_<name>`), and nothing is inserted."""
    require(request, ADD_MESSAGE)
    conversation = selectors.get_conversation(conversation_id)
    saved_replies = list(selectors.saved_replies(category=conversation.category))
    picker = SavedReplyForm(request.POST, saved_replies=saved_replies)
    variables = variables_from(request.POST)
    values = {k: str(request.POST.get(k, ""))[:20_000] for k in ("kind", "body", "cc", "subject")}
    values["kind"] = values["kind"] if values["kind"] in ("reply", "note") else "reply"
    status, missing, error = 200, "", ""
    if not picker.is_valid():
        status, error = 400, "; ".join(f"{label}: {text}" for label, text in form_errors(picker))
    elif picker.cleaned_data["saved_reply"]:
        saved = selectors.get_saved_reply(picker.cleaned_data["saved_reply"])
        try:
            values["body"] = services.render_saved_reply(
                saved_reply=saved, conversation=conversation, variables=variables
            )
            values["subject"] = services.render_template(
                saved.subject, conversation=conversation, variables=variables
            )
        except Invalid as exc:
            status, missing, error = exc.status_code, exc.field, exc.message
    context = _context(
        request,
        conversation,
        reply_form=ReplyForm(initial=values),
        saved_form=picker,
        variables=variables,
        missing_variable=missing,
        saved_error=error,
    )
    if not is_fragment(request):
        return render(request, "conversations/detail.html", context, status=status)
    return render(request, "conversations/_reply_box.html", context, status=status)


@require_POST
@ui_view
def conversation_update(request: HtmxHttpRequest, conversation_id: int) -> HttpResponse:
    """Status, priority, assignee, tags; closing with a closure note or the last reply."""
    require(request, CHANGE)
    conversation = selectors.get_conversation(conversation_id)
    people = _people_for(conversation)
    # What was sent over the current values, so a form shown again with an error keeps
    # showing the conversation as it is; only the fields sent are changed.
    current = conversation_initial(
        conversation, list(conversation.tags.values_list("name", flat=True))
    )
    data = QueryDict(mutable=True)
    for key, value in current.items():
        data[key] = value
    for key in request.POST:
        data.setlist(key, request.POST.getlist(key))
    form = ConversationUpdateForm(data, people=people)
    status = 400
    if form.is_valid():
        try:
            services.update_conversation(
                actor=viewer(request),
                conversation=conversation,
                **form.changes(request.POST, people),
            )
        except CeresError as exc:
            apply_error(form, exc)
            status = exc.status_code
            conversation = selectors.get_conversation(conversation.pk)
            if exc.field == "closure_note":  # not closed: the status select says so
                form.data = data.copy()
                form.data["status"] = conversation.status
        else:
            return _done(request, conversation, "")
    return _failed(
        request,
        conversation,
        "conversations/_controls.html",
        status,
        update_form=form,
        update_errors=form_errors(form),
        open_close="closure_note" in form.errors or request.POST.get("status") == "closed",
    )
