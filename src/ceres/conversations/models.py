"""Support conversations: what customers and community members write, and the team's answers.

A conversation comes from Slack, the website contact form, e-mail or the API. Customers never
log in; the requester is recorded by name and address. SLA deadlines live on the conversation
as indexed columns (added by the SLA engine) so a periodic sweep finds what is due.
"""

from __future__ import annotations

from django.db import models

from ceres.accounts.models import Account
from ceres.team.models import Person


class Tag(models.Model):
    name = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    class Source(models.TextChoices):
        SLACK = "slack"
        CONTACT_FORM = "contact_form", "Contact form"
        EMAIL = "email", "E-mail"
        API = "api", "API"

    class Status(models.TextChoices):
        OPEN = "open"
        WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
        ON_HOLD = "on_hold", "On hold"
        CLOSED = "closed"

    class Priority(models.TextChoices):
        P0 = "P0"
        P1 = "P1"
        P2 = "P2"
        P3 = "P3"

    source = models.CharField(max_length=20, choices=Source.choices)
    category = models.SlugField(max_length=60, default="support")
    # Optional: community members and job applicants have no account.
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    subject = models.CharField(max_length=300)
    requester_name = models.CharField(max_length=200, blank=True, default="")
    requester_email = models.EmailField(blank=True, default="")
    requester_slack_user_id = models.CharField(max_length=20, blank=True, default="")
    # Where a reply goes: the Slack channel and thread, or nothing for e-mail and the form.
    slack_channel_id = models.CharField(max_length=30, blank=True, default="")
    slack_thread_ts = models.CharField(max_length=30, blank=True, default="")
    # Answers to the form's own questions, e.g. {"position_title": "Solutions Architect"}.
    fields = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P3)
    assignee = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    received_at = models.DateTimeField(db_index=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The nearest deadline of a running SLA clock (kept by ceres.sla.engine): the inbox's order.
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closure_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "assignee"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["slack_channel_id", "slack_thread_ts"]),
            # The open queues, in their orders, over open conversations only (a few percent of
            # the rows: closed ones pile up for years); docs/performance.md. The condition is
            # the selectors' OPEN, "not closed", term for term: SQLite uses a partial index only
            # when the query repeats its condition, and never for an IN list of parameters.
            # The status, last, lets a page's ids and the tab counts read the index alone (with
            # a bound parameter SQLite checks the condition again, from the index if it can).
            # The inbox's order (nearest deadline first, then newest): all open, breaching soon.
            models.Index(
                fields=["next_due_at", "-received_at", "-id", "status"],
                condition=~models.Q(status="closed"),
                name="conversation_open_due",
            ),
            # Mine and unassigned in the inbox's order; the open tabs' counts read it alone.
            models.Index(
                fields=["assignee", "next_due_at", "-received_at", "-id", "status"],
                condition=~models.Q(status="closed"),
                name="conversation_open_assignee_due",
            ),
            # The API's order (newest first).
            models.Index(
                fields=["-received_at", "-id", "status"],
                condition=~models.Q(status="closed"),
                name="conversation_open_received",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject[:60]}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Message(models.Model):
    class Kind(models.TextChoices):
        INBOUND = "inbound"  # from the requester
        REPLY = "reply"  # a public response from the team
        NOTE = "note"  # internal; never shown to the requester

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    # An automatic reply (after-hours notice, acknowledgement) does not stop a response clock.
    is_automatic = models.BooleanField(default=False)
    # The provider's id (Slack ts, e-mail Message-ID): a redelivered message is not stored twice.
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    # Mirrored from where it was written (Slack): an edit replaces the body (the audit log keeps
    # the old text); a deletion empties it.
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="message_external_id",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=~models.Q(external_id=""),
                name="message_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.conversation_id}"


class SavedReply(models.Model):
    """A response template ("Applying for open position") with {{variables}}."""

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField()
    # The category it is suggested for (empty: every conversation).
    category = models.SlugField(max_length=60, blank=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "saved replies"

    def __str__(self) -> str:
        return self.name


class ContactFormCounter(models.Model):
    """How many contact-form submissions one sender made in the current window (the rate
    limit). One row per sender key (an HMAC of the e-mail address or of the client network,
    never the address itself); the window starts with the sender's first submission and the
    row is reset, not duplicated, when it has passed. A database row (not the per-process
    cache) so that every web worker sees the same count; see docs/contact-form.md."""

    key = models.CharField(max_length=80, unique=True)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_start.isoformat()}"
