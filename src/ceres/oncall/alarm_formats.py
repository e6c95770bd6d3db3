"""The formats alarms come in, read into `AlarmEvent`s: pure, no database.

Two formats: Ceres's generic JSON (one alarm per request) and Prometheus Alertmanager's webhook
(version "4": a batch of alerts, each its own alarm). Everything is checked before anything is
written, so a refused request leaves nothing behind; the refusal is an `Invalid` (422) naming
the field, with a path into the batch for Alertmanager (`alerts[1].labels`).

Generic text we refuse when it is too long (the sender can fix it); Alertmanager's titles are
cut to fit instead, because Alertmanager does not retry a 4xx and a long summary should not drop
a whole batch of alerts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ceres.core.errors import Invalid

MAX_TITLE = 500
MAX_DEDUP_KEY = 200
MAX_LABELS = 100
MAX_LABEL_NAME = 200
MAX_LABEL_VALUE = 2_000
MAX_ALERTS = 1_000
SEVERITIES = ("critical", "warning", "info")
STATUSES = ("firing", "resolved")
# A notification that does not say how bad it is pages: an alarm sent to on-call is meant to be
# looked at, and under-classifying one is the costlier mistake.
DEFAULT_SEVERITY = "critical"
# Alertmanager's `severity` label is free text; these are the common spellings.
_ALERTMANAGER_SEVERITY = {
    "critical": "critical",
    "error": "critical",
    "high": "critical",
    "page": "critical",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
}


@dataclass(frozen=True)
class AlarmEvent:
    """One notification about one alarm: it fires (again) or it is resolved."""

    dedup_key: str
    title: str
    severity: str
    status: str  # "firing" | "resolved"
    labels: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)


def _labels(value: object, *, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid("must be an object of text values", field=field)
    if len(value) > MAX_LABELS:
        raise Invalid(f"at most {MAX_LABELS} labels", field=field)
    labels: dict[str, str] = {}
    for name, label in value.items():
        if not name or len(name) > MAX_LABEL_NAME:
            raise Invalid(f"a label name has 1 to {MAX_LABEL_NAME} characters", field=field)
        if not isinstance(label, str):
            raise Invalid(f"the label {name[:50]!r} must be text", field=field)
        if len(label) > MAX_LABEL_VALUE:
            raise Invalid(
                f"the label {name[:50]!r} is over {MAX_LABEL_VALUE} characters", field=field
            )
        labels[name] = label
    return labels


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def generic(body: dict[str, Any]) -> list[AlarmEvent]:
    """`{"title", "dedup_key"?, "severity"?, "status"?, "labels"?}`; the key defaults to the
    title (its SHA-256 when the title is longer than a key may be)."""
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise Invalid("required: the alarm's title, as text", field="title")
    title = title.strip()
    if len(title) > MAX_TITLE:
        raise Invalid(f"at most {MAX_TITLE} characters", field="title")
    dedup_key = body.get("dedup_key")
    if dedup_key is None:
        dedup_key = title if len(title) <= MAX_DEDUP_KEY else _hashed(title)
    elif not isinstance(dedup_key, str) or not dedup_key.strip():
        raise Invalid("must be non-blank text (or left out: the title)", field="dedup_key")
    elif len(dedup_key) > MAX_DEDUP_KEY:
        raise Invalid(f"at most {MAX_DEDUP_KEY} characters", field="dedup_key")
    severity = body.get("severity", DEFAULT_SEVERITY)
    if severity not in SEVERITIES:
        raise Invalid(f"must be one of {', '.join(SEVERITIES)}", field="severity")
    status = body.get("status", "firing")
    if status not in STATUSES:
        raise Invalid(f"must be one of {', '.join(STATUSES)}", field="status")
    return [
        AlarmEvent(
            dedup_key=dedup_key.strip(),
            title=title,
            severity=str(severity),
            status=str(status),
            labels=_labels(body.get("labels"), field="labels"),
            payload=body,
        )
    ]


def _alert(
    alert: object, *, where: str, group_status: object, common: dict[str, Any]
) -> AlarmEvent:
    if not isinstance(alert, dict):
        raise Invalid("must be an object", field=where)
    labels = _labels(alert.get("labels"), field=f"{where}.labels")
    annotations = _labels(alert.get("annotations"), field=f"{where}.annotations")
    status = alert.get("status", group_status)
    if status not in STATUSES:
        raise Invalid(f"must be one of {', '.join(STATUSES)}", field=f"{where}.status")
    fingerprint = alert.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        if not labels:
            raise Invalid("an alert needs a fingerprint or labels", field=f"{where}.fingerprint")
        dedup_key = _hashed(json.dumps(labels, sort_keys=True))
    elif not isinstance(fingerprint, str) or len(fingerprint) > MAX_DEDUP_KEY:
        raise Invalid(
            f"must be text of at most {MAX_DEDUP_KEY} characters", field=f"{where}.fingerprint"
        )
    else:
        dedup_key = fingerprint
    title = (
        annotations.get("summary", "").strip()
        or labels.get("alertname", "").strip()
        or f"Alert {dedup_key[:16]}"
    )
    severity = _ALERTMANAGER_SEVERITY.get(labels.get("severity", "").lower(), DEFAULT_SEVERITY)
    return AlarmEvent(
        dedup_key=dedup_key,
        title=title[:MAX_TITLE],
        severity=severity,
        status=str(status),
        labels=labels,
        payload={**common, "alert": alert},
    )


def alertmanager(body: dict[str, Any]) -> list[AlarmEvent]:
    """Alertmanager's webhook (https://prometheus.io/docs/alerting/latest/configuration/
    #webhook_config): each alert is an alarm keyed by its fingerprint (or, without one, a hash
    of its sorted labels), titled by `annotations.summary` or the `alertname` label."""
    version = body.get("version", "4")
    if version != "4":
        raise Invalid('only version "4" of the Alertmanager webhook is understood', field="version")
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise Invalid("required: the list of alerts", field="alerts")
    if len(alerts) > MAX_ALERTS:
        raise Invalid(f"at most {MAX_ALERTS} alerts in one notification", field="alerts")
    common = {key: value for key, value in body.items() if key != "alerts"}
    group_status = body.get("status", "firing")
    return [
        _alert(alert, where=f"alerts[{index}]", group_status=group_status, common=common)
        for index, alert in enumerate(alerts)
    ]


def contains_nul(value: object) -> bool:
    """PostgreSQL's jsonb cannot hold a NUL character: such a body is refused, not stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
