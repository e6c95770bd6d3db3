"""The calendar editor's form: time zone, hours per weekday (or 24/7), holidays, closed and
open dates, turned into the spec `Calendar.from_spec` reads, its refusals on the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms

from ceres.core.businesstime import Calendar
from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS
from ceres.sla.forms import DAY_LABELS, clean_key_text, key_field, words


class CalendarForm(forms.Form):
    """A calendar: time zone, hours per weekday (or 24/7), holidays, closed and open dates."""

    key = key_field("Name")
    timezone = forms.CharField(
        label="Time zone",
        max_length=60,
        help_text="An IANA time zone, e.g. America/Chicago.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    always_open = forms.BooleanField(label="Open 24/7", required=False)
    holiday_country = forms.CharField(
        label="Public holidays of",
        required=False,
        max_length=3,
        help_text="A country code such as US or DE; leave empty for none.",
        widget=forms.TextInput(attrs={"class": "mono", "size": 4}),
    )
    holiday_subdivision = forms.CharField(
        label="Region",
        required=False,
        max_length=10,
        help_text="A state or region code, e.g. BY for Bavaria.",
        widget=forms.TextInput(attrs={"class": "mono", "size": 6}),
    )
    closed = forms.CharField(
        label="Also closed on",
        required=False,
        max_length=5000,
        help_text="Dates (YYYY-MM-DD), one per line.",
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
    )
    open = forms.CharField(
        label="Also open on",
        required=False,
        max_length=5000,
        help_text="A date, with its hours if they differ: 2026-12-27 10:00-14:00.",
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
    )

    def __init__(self, *args: Any, editing: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is not None:
            del self.fields["key"]
        for day in WEEKDAYS:
            self.fields[day] = forms.CharField(
                label=DAY_LABELS[day],
                required=False,
                max_length=200,
                widget=forms.TextInput(
                    attrs={"class": "mono", "placeholder": "closed", "autocomplete": "off"}
                ),
            )

    @classmethod
    def initial_of(cls, spec: dict[str, Any]) -> dict[str, Any]:
        hours = spec.get("hours")
        holidays = spec.get("holidays") or {}
        initial: dict[str, Any] = {
            "timezone": spec.get("timezone", ""),
            "always_open": hours == "all",
            "holiday_country": holidays.get("country", ""),
            "holiday_subdivision": holidays.get("subdivision", ""),
            "closed": "\n".join(spec.get("closed", [])),
            "open": "\n".join(
                entry if isinstance(entry, str) else f"{entry['date']} {' '.join(entry['hours'])}"
                for entry in spec.get("open", [])
            ),
        }
        if isinstance(hours, dict):
            for day in WEEKDAYS:
                initial[day] = " ".join(hours.get(day, []))
        return initial

    def day_fields(self) -> list[forms.BoundField]:
        return [self[day] for day in WEEKDAYS]

    def clean_key(self) -> str:
        return clean_key_text(self.cleaned_data["key"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        spec: dict[str, Any] = {"timezone": data["timezone"].strip()}
        if data.get("always_open"):
            spec["hours"] = "all"
        else:
            spec["hours"] = {day: words(data[day]) for day in WEEKDAYS if data.get(day, "").strip()}
        country = data.get("holiday_country", "").strip().upper()
        subdivision = data.get("holiday_subdivision", "").strip()
        if country or subdivision:
            spec["holidays"] = {"country": country} if country else {}
            if subdivision:
                spec["holidays"]["subdivision"] = subdivision
        closed = words(data.get("closed", ""))
        if closed:
            spec["closed"] = closed
        opened = [_open_line(line) for line in data.get("open", "").splitlines() if line.strip()]
        if opened:
            spec["open"] = opened
        try:
            data["spec"] = Calendar.from_spec(spec).to_spec()
        except Invalid as exc:
            self.add_error(*_calendar_error(exc, spec))
        return data

    def values(self) -> dict[str, Any]:
        """Keyword arguments of `sla.services.save_calendar`."""
        key = self.editing if self.editing is not None else self.cleaned_data["key"]
        return {"key": key, "spec": self.cleaned_data["spec"]}


def _open_line(line: str) -> str | dict[str, Any]:
    day, *hours = words(line)
    return {"date": day, "hours": hours} if hours else day


def _calendar_error(exc: Invalid, spec: dict[str, Any]) -> tuple[str | None, str]:
    """The form field a calendar refusal is about (the weekday of an overlapping window)."""
    top = exc.field.split(".")[0]
    if exc.field == "holidays.country" or (top == "holidays" and "country" in exc.message):
        return "holiday_country", exc.message
    if exc.field == "holidays.subdivision":
        return "holiday_subdivision", exc.message
    if top == "hours":
        for day in WEEKDAYS:
            if exc.message.startswith(f"{day}: "):
                return day, exc.message.removeprefix(f"{day}: ")
        if spec.get("hours") == {}:
            return "mon", "the calendar is never open: give at least one day hours, or 24/7"
        return None, exc.message
    if top in ("timezone", "closed", "open"):
        return top, exc.message
    return None, exc.message
