"""The settings pages' forms: a business calendar and an SLA policy as people fill them in.

Each form turns its fields into the data the services store (a calendar spec, a policy's match
and rules) and lets the same checks as the playbook refuse it, so a policy typed here means
what the same policy written in YAML means. Errors land on the field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django import forms

from ceres.conversations.models import Conversation
from ceres.core.durations import format_duration, parse_duration
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS
from ceres.sla.models import SlaClock, SlaPolicy
from ceres.sla.policies import WHEN, rule_order_problems

TARGETS = tuple(SlaClock.Target.values)
TARGET_LABELS = dict(SlaClock.Target.choices)
RULES_PER_TARGET = 3
WHEN_LABELS = {
    "always": "Always",
    "inside_hours": "Inside hours of",
    "outside_hours": "Outside hours of",
}
PAUSE_STATUSES = [
    (status.value, status.label)
    for status in Conversation.Status
    if status not in (Conversation.Status.OPEN, Conversation.Status.CLOSED)
]
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_LABELS = dict(zip(WEEKDAYS, DAY_NAMES, strict=True))
_KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_CATEGORY = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")
_SEPARATORS = re.compile(r"[\s,;]+")


def words(text: str) -> list[str]:
    return [word for word in _SEPARATORS.split(text.strip()) if word]


def key_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=60,
        help_text="Lower-case letters, digits and dashes; the playbook refers to it by this.",
        widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off"}),
    )


def clean_key_text(value: str) -> str:
    key = value.strip()
    if not _KEY.match(key):
        raise forms.ValidationError("use lower-case letters, digits and dashes, e.g. premium")
    return key


# --- policies --------------------------------------------------------------------------------


def rule_field(target: str, index: int, part: str) -> str:
    return f"{target}-{index}-{part}"


class PolicyForm(forms.Form):
    """A policy: what it matches, up to three rules per target, pausing and warning.

    Rule rows left without a duration are ignored; a target with no rule starts no clock."""

    key = key_field("Name")
    position = forms.IntegerField(
        label="Order",
        min_value=0,
        max_value=10_000,
        help_text="Policies are tried from the lowest; the first that matches wins.",
    )
    source = forms.MultipleChoiceField(
        label="Source",
        required=False,
        choices=Conversation.Source.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.CharField(
        label="Category",
        required=False,
        max_length=500,
        help_text="Category keys separated by commas, e.g. job-application.",
    )
    tier = forms.MultipleChoiceField(
        label="Account tier (product)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priority = forms.MultipleChoiceField(
        label="Priority",
        required=False,
        choices=Conversation.Priority.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    channel_kind = forms.MultipleChoiceField(
        label="Slack channel",
        required=False,
        choices=[("customer", "A customer's channel"), ("community", "Community")],
        widget=forms.CheckboxSelectMultiple,
    )
    pause_on = forms.MultipleChoiceField(
        label="Pause the clocks while",
        required=False,
        choices=PAUSE_STATUSES,
        widget=forms.CheckboxSelectMultiple,
    )
    warn_at = forms.IntegerField(
        label="Warn at",
        min_value=1,
        max_value=99,
        help_text="Per cent of the target: the assignee hears before it is due.",
    )
    escalate_to_role = forms.ChoiceField(
        label="P0/P1 breaches also go to", required=False, choices=[("", "Nobody else")]
    )

    def __init__(
        self,
        *args: Any,
        tiers: Iterable[tuple[str, str]] = (),
        roles: Iterable[tuple[str, str]] = (),
        calendars: Iterable[str] = (),
        editing: SlaPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.calendars = list(calendars)
        tier_field = self.fields["tier"]
        role_field = self.fields["escalate_to_role"]
        assert isinstance(tier_field, forms.ChoiceField)
        assert isinstance(role_field, forms.ChoiceField)
        tier_field.choices = list(tiers)
        role_field.choices = [("", "Nobody else"), *roles]
        if editing is not None:
            del self.fields["key"]
        calendar_choices = [("", "—"), *((key, key) for key in self.calendars)]
        for target in TARGETS:
            for i in range(RULES_PER_TARGET):
                self.fields[rule_field(target, i, "within")] = forms.CharField(
                    label=f"{TARGET_LABELS[target]} rule {i + 1}: within",
                    required=False,
                    max_length=20,
                    widget=forms.TextInput(
                        attrs={"class": "mono", "placeholder": "e.g. 1h", "size": 6}
                    ),
                )
                self.fields[rule_field(target, i, "clock")] = forms.ChoiceField(
                    label=f"{TARGET_LABELS[target]} rule {i + 1}: clock",
                    choices=[("elapsed", "elapsed time"), ("business", "business hours")],
                    initial="elapsed",
                )
                self.fields[rule_field(target, i, "when")] = forms.ChoiceField(
                    label=f"{TARGET_LABELS[target]} rule {i + 1}: when",
                    choices=[(when, WHEN_LABELS[when]) for when in WHEN],
                    initial="always",
                )
                self.fields[rule_field(target, i, "calendar")] = forms.ChoiceField(
                    label=f"{TARGET_LABELS[target]} rule {i + 1}: calendar",
                    choices=calendar_choices,
                    required=False,
                )

    @classmethod
    def initial_of(cls, policy: SlaPolicy) -> dict[str, Any]:
        match = policy.match or {}
        initial: dict[str, Any] = {
            "position": policy.position,
            "source": match.get("source", []),
            "category": ", ".join(match.get("category", [])),
            "tier": match.get("tier", []),
            "priority": match.get("priority", []),
            "channel_kind": match.get("channel_kind", []),
            "pause_on": list(policy.pause_on or []),
            "warn_at": round(policy.warn_at_fraction * 100),
            "escalate_to_role": policy.escalate_to_role,
        }
        for target in TARGETS:
            for i, rule in enumerate((policy.targets or {}).get(target, [])[:RULES_PER_TARGET]):
                initial[rule_field(target, i, "within")] = format_duration(rule["within_seconds"])
                initial[rule_field(target, i, "clock")] = rule.get("clock", "elapsed")
                initial[rule_field(target, i, "when")] = rule.get("when", "always")
                initial[rule_field(target, i, "calendar")] = rule.get("calendar") or ""
        return initial

    def rows(self) -> list[dict[str, Any]]:
        """The rule rows grouped by target, for the template."""
        return [
            {
                "target": target,
                "label": TARGET_LABELS[target],
                "rules": [
                    {
                        part: self[rule_field(target, i, part)]
                        for part in ("within", "clock", "when", "calendar")
                    }
                    for i in range(RULES_PER_TARGET)
                ],
                "errors": self.errors.get(target, []),
            }
            for target in TARGETS
        ]

    def clean_key(self) -> str:
        return clean_key_text(self.cleaned_data["key"])

    def clean_category(self) -> list[str]:
        categories = list(dict.fromkeys(words(self.cleaned_data.get("category", ""))))
        for category in categories:
            if not _CATEGORY.match(category):
                raise forms.ValidationError(
                    f"{category!r} is not a category: letters, digits, dashes and underscores"
                )
        return categories

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        targets: dict[str, list[dict[str, Any]]] = {}
        for target in TARGETS:
            rules = self._rules(target, data)
            if rules:
                targets[target] = rules
        if not targets and not self.errors:
            self.add_error(
                rule_field("first_response", 0, "within"),
                "give at least one target a duration",
            )
        data["targets"] = targets
        return data

    def _rules(self, target: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = []
        rows: list[int] = []
        for i in range(RULES_PER_TARGET):
            within_name = rule_field(target, i, "within")
            within = (data.get(within_name) or "").strip()
            if not within:
                continue
            clock = data.get(rule_field(target, i, "clock")) or "elapsed"
            when = data.get(rule_field(target, i, "when")) or "always"
            calendar = data.get(rule_field(target, i, "calendar")) or None
            try:
                seconds = parse_duration(within, field=within_name)
            except Invalid as exc:
                self.add_error(within_name, exc.message)
                continue
            if clock == "business" and "d" in within:
                self.add_error(
                    within_name,
                    "a business day is not 24 hours: write business hours, e.g. 8h for one "
                    "09:00-17:00 day",
                )
                continue
            if calendar is None and (when != "always" or clock == "business"):
                why = "whose business hours?" if clock == "business" else "whose hours?"
                self.add_error(rule_field(target, i, "calendar"), f"choose a calendar ({why})")
                continue
            rules.append(
                {"when": when, "calendar": calendar, "within_seconds": seconds, "clock": clock}
            )
            rows.append(i)
        if len(rules) == len(rows) and not self.has_error(target):
            for problem in rule_order_problems([(r["when"], r["calendar"]) for r in rules]):
                where = (
                    rule_field(target, rows[problem.index], "within")
                    if problem.index is not None
                    else None
                )
                message = problem.message.replace("when: always", "“Always”")
                if where is None:
                    self.add_error(None, f"{TARGET_LABELS[target]}: {message}")
                else:
                    self.add_error(where, message)
        return rules

    def values(self) -> dict[str, Any]:
        """Keyword arguments of `sla.services.save_policy`."""
        data = self.cleaned_data
        match = {
            key: list(data[key])
            for key in ("source", "category", "tier", "priority", "channel_kind")
            if data.get(key)
        }
        return {
            "key": self.editing.key if self.editing is not None else data["key"],
            "position": data["position"],
            "match": match,
            "targets": data["targets"],
            "pause_on": list(data.get("pause_on") or []),
            "warn_at_fraction": data["warn_at"] / 100,
            "escalate_to_role": data.get("escalate_to_role") or "",
        }
