"""HTML forms of the team pages. They parse and type the input; the rules live in the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from ceres.core.hours import WEEKDAYS
from ceres.core.web import set_choices
from ceres.team.models import Person, Role

DAY_LABELS = {day: day.capitalize() for day in WEEKDAYS}


class TeamFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    role = forms.ChoiceField(required=False, label="Role")
    sort = forms.ChoiceField(
        required=False, label="Sort", choices=[("role", "By role"), ("name", "By name")]
    )

    def __init__(self, data: Any, *, roles: Sequence[Role]) -> None:
        super().__init__(data)
        set_choices(self.fields["role"], [("", "All roles"), *((r.key, r.name) for r in roles)])


class PersonForm(forms.Form):
    name = forms.CharField(max_length=200, label="Name")
    role = forms.ChoiceField(label="Role")
    email = forms.EmailField(max_length=254, label="E-mail")
    github_login = forms.CharField(required=False, max_length=39, label="GitHub login")
    slack_user_id = forms.CharField(required=False, max_length=20, label="Slack user id")
    phone = forms.CharField(
        required=False, max_length=20, label="Phone", help_text="E.164, e.g. +15555550100"
    )
    timezone = forms.CharField(max_length=64, label="Time zone")
    is_active = forms.BooleanField(required=False, label="Active")

    def __init__(
        self, data: Any = None, *, roles: Sequence[Role], initial: dict[str, Any] | None = None
    ) -> None:
        super().__init__(data, initial=initial)
        set_choices(self.fields["role"], [(r.key, r.name) for r in roles])
        self.fields["timezone"].widget.attrs["list"] = "timezones"
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                required=False,
                max_length=200,
                label=DAY_LABELS[day],
                widget=forms.TextInput(attrs={"placeholder": "09:00-17:00", "class": "mono"}),
            )

    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def values(self) -> dict[str, Any]:
        """Keyword arguments for `team.services.update_person`."""
        data = self.cleaned_data
        hours: dict[str, list[str]] = {}
        for day in WEEKDAYS:
            text = str(data.get(f"hours_{day}") or "").replace("\u2013", "-")
            spans = [s.strip() for s in text.replace(";", ",").split(",") if s.strip()]
            if spans:
                hours[day] = spans
        return {
            "name": data["name"],
            "role": data["role"],
            "email": data["email"],
            "github_login": data["github_login"],
            "slack_user_id": data["slack_user_id"],
            "phone": data["phone"],
            "timezone": data["timezone"].strip(),
            "working_hours": hours,
            "is_active": data["is_active"],
        }


def person_initial(person: Person) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": person.name,
        "role": person.role.key,
        "email": person.email,
        "github_login": person.github_login,
        "slack_user_id": person.slack_user_id,
        "phone": person.phone,
        "timezone": person.timezone,
        "is_active": person.is_active,
    }
    hours = person.working_hours or {}
    for day in WEEKDAYS:
        initial[f"hours_{day}"] = ", ".join(hours.get(day, []))
    return initial


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. laptop scripts"}),
    )
