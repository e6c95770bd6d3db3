from __future__ import annotations

from django.db import models

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation
from ceres.team.models import Person


class CustomerQuestion(models.Model):
    """A customer's question about product usage, logged for a documentation update."""

    text = models.TextField()
    link = models.URLField(max_length=500, blank=True, default="")
    # Where it was asked: a Slack message (channel, ts), unique, so logging it twice is once.
    slack_channel_id = models.CharField(max_length=30, blank=True, default="")
    slack_ts = models.CharField(max_length=30, blank=True, default="")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField(db_index=True)
    # Set when someone updated the documentation for it (with where, when they say).
    documented_at = models.DateTimeField(null=True, blank=True)
    documentation_link = models.URLField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-logged_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slack_channel_id", "slack_ts"],
                condition=~models.Q(slack_ts=""),
                name="question_once_per_slack_message",
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]
