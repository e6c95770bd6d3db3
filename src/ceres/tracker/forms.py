"""HTML forms of the tracker. They parse and type the input; the rules live in the services
(tracker.bugs.clean), so the form and the API refuse the same things."""

from __future__ import annotations

from typing import Any

from django import forms

from ceres.tracker.bugs import DETAILS, SHORT_MAX, BugReportInput
from ceres.tracker.models import BugReport


def _detail_field(label: str, kind: str) -> forms.Field:
    if kind == "count":
        return forms.CharField(required=False, label=label, max_length=20)
    if kind == "yes_no":
        return forms.ChoiceField(
            required=False,
            label=label,
            choices=[("", "Not known"), ("yes", "Yes"), ("no", "No")],
        )
    return forms.CharField(required=False, label=label, max_length=500)


class BugReportForm(forms.Form):
    account = forms.IntegerField(widget=forms.HiddenInput, required=False)
    conversation = forms.IntegerField(widget=forms.HiddenInput, required=False)
    title = forms.CharField(label="Title", max_length=256, required=False)
    server_version = forms.CharField(
        label="Product server version", max_length=SHORT_MAX["server_version"], required=False
    )
    agent_version = forms.CharField(
        label="Agent version", max_length=SHORT_MAX["agent_version"], required=False
    )
    agent_kind = forms.ChoiceField(
        label="Agent kind",
        required=False,
        choices=[("", "Choose…"), *BugReport.AgentKind.choices],
    )
    operating_system = forms.CharField(
        label="Operating system", max_length=SHORT_MAX["operating_system"], required=False
    )
    web_browser = forms.CharField(
        label="Web browser", max_length=SHORT_MAX["web_browser"], required=False
    )
    expected_behavior = forms.CharField(
        label="Expected behavior", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    actual_behavior = forms.CharField(
        label="Actual behavior", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    reproduction_steps = forms.CharField(
        label="Reproduction steps", widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    steps_from_customer = forms.BooleanField(
        label="We could not reproduce it: these are the steps the customer took", required=False
    )
    confidential_details = forms.CharField(
        label="Confidential details",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Real names, hostnames, anything that may not go public: these go to an "
        "issue in the confidential repository that links to the public one.",
    )
    debug_archive = forms.FileField(label="Debug archive (fleetctl debug archive)", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label, kind in DETAILS:
            self.fields[f"detail_{key}"] = _detail_field(label, kind)

    def detail_fields(self) -> list[forms.BoundField]:
        return [self[f"detail_{key}"] for key, _label, _kind in DETAILS]

    def to_input(self) -> BugReportInput:
        data = self.cleaned_data
        return BugReportInput(
            title=data.get("title") or "",
            server_version=data.get("server_version") or "",
            agent_version=data.get("agent_version") or "",
            agent_kind=data.get("agent_kind") or "",
            operating_system=data.get("operating_system") or "",
            web_browser=data.get("web_browser") or "",
            expected_behavior=data.get("expected_behavior") or "",
            actual_behavior=data.get("actual_behavior") or "",
            reproduction_steps=data.get("reproduction_steps") or "",
            steps_from_customer=bool(data.get("steps_from_customer")),
            details={key: data.get(f"detail_{key}") for key, _label, _kind in DETAILS},
            confidential_details=data.get("confidential_details") or "",
        )


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))


class SameIssueForm(forms.Form):
    account = forms.IntegerField(label="Account")
    conversation = forms.IntegerField(required=False)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))
