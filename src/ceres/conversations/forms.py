"""HTML forms of the inbox and the conversation page. They parse and type the input; the
rules (a closure note to close, a value for every variable of a saved reply) live in the
services, whose errors the views show next to the field they name.

Choices that come from the database (people, saved replies) are passed in by the view.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ceres.conversations.models import Conversation, SavedReply
from ceres.conversations.services import MAX_BODY, MAX_SUBJECT
from ceres.core.web import set_choices
from ceres.team.models import Person

PAGE_SIZE = 50

# The inbox's tabs, in order: (queue, label).
TABS = (
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("breaching_soon", "Breaching soon"),
    ("all_open", "All open"),
    ("closed", "Closed"),
)
DEFAULT_QUEUE = "all_open"
_SEPARATORS = re.compile(r"[\s,;]+")
_VARIABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
MAX_VARIABLES = 20


def _words(value: str) -> list[str]:
    return [w for w in _SEPARATORS.split(value) if w]


class InboxFilterForm(forms.Form):
    queue = forms.ChoiceField(required=False, choices=[("", "All open"), *TABS], label="Queue")
    q = forms.CharField(required=False, max_length=200, label="Search")
    source = forms.ChoiceField(
        required=False, choices=[("", "Any source"), *Conversation.Source.choices], label="Source"
    )
    priority = forms.ChoiceField(
        required=False,
        choices=[("", "Any priority"), *Conversation.Priority.choices],
        label="Priority",
    )
    category = forms.SlugField(required=False, max_length=60, label="Category")
    account = forms.CharField(required=False, max_length=100, label="Account")
    assignee = forms.ChoiceField(required=False, label="Assignee")
    page = forms.IntegerField(required=False, min_value=1, max_value=10**9, label="Page")

    def __init__(self, data: Any, *, people: Sequence[Person]) -> None:
        super().__init__(data)
        set_choices(
            self.fields["assignee"],
            [
                ("", "Any assignee"),
                ("none", "Nobody"),
                *((p.user.username, p.name) for p in people),
            ],
        )


class ReplyForm(forms.Form):
    """A public reply or an internal note. `subject` comes from a saved reply's subject."""

    kind = forms.ChoiceField(
        choices=[("reply", "Public reply"), ("note", "Internal note")], label="Send as"
    )
    body = forms.CharField(
        max_length=MAX_BODY,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "Write a reply…"}),
    )
    cc = forms.CharField(
        required=False,
        max_length=2000,
        label="CC",
        help_text="E-mail addresses, separated by commas.",
    )
    subject = forms.CharField(
        required=False, max_length=MAX_SUBJECT, label="Subject", widget=forms.HiddenInput
    )

    def __init__(self, data: Any = None, *, initial: dict[str, Any] | None = None) -> None:
        super().__init__(data, initial=initial, auto_id="reply_%s")
        self.fields["cc"].widget.attrs["placeholder"] = "someone@example.com"

    def clean_cc(self) -> list[str]:
        addresses = _words(self.cleaned_data.get("cc") or "")
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValidationError(f"{address!r} is not a valid e-mail address") from exc
        if len(addresses) > 20:
            raise ValidationError("at most 20 addresses")
        return addresses


def variables_from(data: Any) -> dict[str, str]:
    """Values typed for a saved reply's {{variables}}: the fields named `var_<name>`."""
    values: dict[str, str] = {}
    for key in list(data.keys())[:200]:
        name = key[4:] if key.startswith("var_") else ""
        if _VARIABLE_NAME.fullmatch(name) and len(values) < MAX_VARIABLES:
            values[name] = str(data.get(key, ""))[:500]
    return values


class SavedReplyForm(forms.Form):
    saved_reply = forms.ChoiceField(required=False, label="Saved reply")

    def __init__(self, data: Any = None, *, saved_replies: Sequence[SavedReply]) -> None:
        super().__init__(data, auto_id="saved_%s")
        set_choices(
            self.fields["saved_reply"],
            [("", "Insert a saved reply…"), *((s.key, s.name) for s in saved_replies)],
        )


class ConversationUpdateForm(forms.Form):
    """Status, priority, assignee and tags; only the fields sent are changed. Closing needs
    `closure_note` or `use_last_reply` (the service says so, naming the closure note)."""

    status = forms.ChoiceField(required=False, choices=Conversation.Status.choices, label="Status")
    priority = forms.ChoiceField(
        required=False, choices=Conversation.Priority.choices, label="Priority"
    )
    assignee = forms.ChoiceField(required=False, label="Assignee")
    tags = forms.CharField(
        required=False,
        max_length=1000,
        label="Tags",
        help_text="Separated by commas or spaces.",
    )
    closure_note = forms.CharField(
        required=False,
        max_length=MAX_BODY,
        label="Closure note",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    use_last_reply = forms.BooleanField(
        required=False, label="Use my last reply as the closure note"
    )

    def __init__(
        self,
        data: Any = None,
        *,
        people: Sequence[Person],
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial, auto_id="update_%s")
        set_choices(
            self.fields["assignee"], [("", "Nobody"), *((str(p.pk), p.name) for p in people)]
        )
        self.fields["closure_note"].widget.attrs["placeholder"] = (
            "What was the answer? The handbook asks for a closure note or a copy of the response."
        )

    def clean_tags(self) -> list[str]:
        return _words((self.cleaned_data.get("tags") or "").lower())

    def changes(self, sent: Any, people: Sequence[Person]) -> dict[str, Any]:
        """Keyword arguments for `services.update_conversation`: only what the request sent."""
        data = self.cleaned_data
        values: dict[str, Any] = {}
        for name in ("status", "priority"):
            if name in sent and data[name]:
                values[name] = data[name]
        if "assignee" in sent:
            by_id = {str(p.pk): p for p in people}
            values["assignee"] = by_id.get(data["assignee"]) if data["assignee"] else None
        if "tags" in sent:
            values["tags"] = data["tags"]
        if values.get("status") == Conversation.Status.CLOSED:
            values["closure_note"] = data["closure_note"]
            values["closure_note_from_last_reply"] = data["use_last_reply"]
        return values


def conversation_initial(conversation: Conversation, tags: Sequence[str]) -> dict[str, Any]:
    return {
        "status": conversation.status,
        "priority": conversation.priority,
        "assignee": str(conversation.assignee_id or ""),
        "tags": ", ".join(tags),
    }
