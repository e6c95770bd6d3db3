"""Calendars and policies in a few words, the same in `ceres apply`'s diff and on the settings
pages: "mon-fri 09:00-17:00", "1h elapsed inside support hours"."""

from __future__ import annotations

from typing import Any

from ceres.core.durations import format_duration
from ceres.core.hours import WEEKDAYS


def show_hours(hours: Any) -> str:
    """A calendar spec's `hours`, consecutive weekdays with the same windows grouped."""
    if hours == "all":
        return "24/7"
    groups: list[tuple[list[str], list[str]]] = []
    for day in WEEKDAYS:
        windows = list(hours.get(day, []))
        if not windows:
            continue
        previous = groups[-1] if groups else None
        if (
            previous
            and previous[1] == windows
            and WEEKDAYS.index(previous[0][-1]) + 1 == WEEKDAYS.index(day)
        ):
            previous[0].append(day)
        else:
            groups.append(([day], windows))
    return ", ".join(
        (f"{days[0]}-{days[-1]}" if len(days) > 1 else days[0]) + " " + " ".join(windows)
        for days, windows in groups
    )


def show_rule(rule: dict[str, Any]) -> str:
    text = f"{format_duration(rule['within_seconds'])} {rule.get('clock', 'elapsed')}"
    calendar = rule.get("calendar")
    when = rule.get("when", "always")
    if when != "always":
        return f"{text} {when.removesuffix('_hours')} {calendar} hours"
    return f"{text} on {calendar}" if calendar else text


def show_rules(rules: list[dict[str, Any]]) -> str:
    return ", ".join(show_rule(rule) for rule in rules) or "(none)"


def show_match(match: dict[str, list[str]]) -> str:
    return ", ".join(f"{key} {'|'.join(values)}" for key, values in match.items()) or "(any)"
