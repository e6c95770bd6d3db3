"""Which Slack channels Ceres listens to.

A customer's shared channel is designated on its account (`Account.slack_channel_id`); community
channels, which have no account, are designated here. A message in any other channel is
ignored.
"""

from __future__ import annotations

from django.db import models


class CommunityChannel(models.Model):
    channel_id = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "channel_id"]

    def __str__(self) -> str:
        return f"#{self.name or self.channel_id}"


class ReactionCommand(models.Model):
    """A reaction a team member puts on a message in a conversation's thread, and what Ceres
    does then. Shipped: a check mark closes, eyes marks "investigating" (docs/slack.md)."""

    class Command(models.TextChoices):
        CLOSE = "close", "Close the conversation, the message as closure note"
        INVESTIGATING = "investigating", "Tag the conversation “investigating”"
        QUESTIONS_LOG = "questions_log", "Add the message to the customer-questions log"

    reaction = models.CharField(max_length=100, unique=True)  # Slack's name: "white_check_mark"
    command = models.CharField(max_length=30, choices=Command.choices)

    class Meta:
        ordering = ["reaction"]

    def __str__(self) -> str:
        return f":{self.reaction}: → {self.command}"
