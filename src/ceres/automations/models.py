"""Rules and their firings.

A rule is data (the playbook's `automations`, or the admin): a trigger, conditions, actions,
and the actions of the buttons its reply offers. A firing is one rule acting on one event,
unique per (rule, event): a rule fires at most once for an event, however often the event is
processed again.
"""

from __future__ import annotations

from django.db import models

from ceres.conversations.models import Conversation


class AutomationRule(models.Model):
    class Trigger(models.TextChoices):
        MESSAGE_RECEIVED = "message_received"
        STATUS_CHANGED = "status_changed"
        SLA_WARNING = "sla_warning"
        SLA_BREACH = "sla_breach"
        SCHEDULE = "schedule"

    key = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    # {"author": "not_team", "outside_hours": "support", "channel_kind": ["customer"], ...}:
    # every condition must hold (docs/automations.md lists them).
    conditions = models.JSONField(default=dict, blank=True)
    # [{"reply_in_thread": "after-hours-notice"}, {"notify": {...}}, ...], in order.
    actions = models.JSONField(default=list)
    # What the buttons of the rule's reply do: {"emergency": {"options": ["P0", "P1"],
    # "actions": [{"text": {"role": "vp-cs"}}, {"set_priority": "from_button"}]}}.
    buttons = models.JSONField(default=dict, blank=True)
    # For `schedule` rules: {"days": ["mon", …], "at": "09:00", "timezone": "America/Chicago"};
    # at each such moment the rule runs over the open conversations its conditions pick.
    schedule = models.JSONField(default=dict, blank=True)
    # The last moment a schedule rule ran for: claimed by a conditional update, so one run per
    # moment however many workers tick.
    last_run_for = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.key


class AutomationFiring(models.Model):
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="firings")
    # The event it acted on: the inbox event id ("message:42", "sla:7:breach").
    event_key = models.CharField(max_length=200)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fired_at = models.DateTimeField()
    # What the actions did, in words, for the rule's history.
    outcome = models.JSONField(default=list, blank=True)
    # Who may press the reply's buttons (the original sender), and the press that counted.
    requester_slack_user_id = models.CharField(max_length=20, blank=True, default="")
    pressed_at = models.DateTimeField(null=True, blank=True)
    pressed_by = models.CharField(max_length=20, blank=True, default="")
    pressed_value = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="firing_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.event_key}"
