"""The demo's alarms as monitoring would have sent them: the notifications of each story (an
Alertmanager webhook body for the Managed Cloud's Prometheus, the generic JSON for the
fleetdm.com uptime checks), read by the same parsers (`ceres.oncall.alarm_formats`) the
webhook uses, so titles, keys, severities and payloads are what real traffic makes.

`ceres.demo.oncall.make_oncall_activity` plays them on a timeline; this module is data and
pure builders only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from ceres.oncall import alarm_formats
from ceres.oncall.alarm_formats import AlarmEvent

PROMETHEUS = "Prometheus (Managed Cloud)"
UPTIME = "fleetdm.com uptime"
ALERTMANAGER_URL = "https://alertmanager.mc-us-east-1.fleetdm.com"
CLUSTER = "mc-us-east-1"
NOT_YET = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing


@dataclass(frozen=True)
class Story:
    """One alarm's life. `day` is days after the Monday 00:00 it is placed from and `at` the
    wall-clock time there (America/Chicago); offsets are minutes after it opened. `ack` is
    the minutes to the first acknowledgement (None: never; `LATE`: past its response
    target), by the on-call the chain paged first; `resolve` the minutes to its end, by the
    source or, with `by_hand`, by whoever acknowledged it."""

    key: str
    source: str  # PROMETHEUS or UPTIME
    title: str
    severity: str
    labels: dict[str, str]
    description: str = ""
    repeats: tuple[int, ...] = ()
    ack: int | None = None
    resolve: int | None = None
    by_hand: bool = False


LATE = -1  # `Story.ack`: acknowledged 12 minutes after the response target
LATE_BY = datetime.timedelta(minutes=12)


def _prometheus(
    key: str, alertname: str, title: str, severity: str, description: str, **labels: str
) -> dict[str, Any]:
    return {
        "key": key,
        "source": PROMETHEUS,
        "title": title,
        "severity": severity,
        "description": description,
        "labels": {"alertname": alertname, "severity": severity, "cluster": CLUSTER, **labels},
    }


# Placed from the Monday two weeks back ("before"), from last week's Monday ("last"), and
# from now (minutes before it: "now"); see `make_oncall_activity`.
BEFORE = (
    (
        1,
        "02:40",
        Story(
            **_prometheus(
                "4be1c0d7a93e5f21",
                "DiskUsageHigh",
                "Managed Cloud: disk usage above 85% on db-2",
                "warning",
                "/var/lib/postgresql on db-2 is 87% full.",
                instance="db-2.mc-us-east-1.internal:9100",
                mountpoint="/var/lib/postgresql",
            ),
            repeats=(60,),
            ack=9,
            resolve=130,
        ),
    ),
    (
        3,
        "15:05",
        Story(
            key="tls-expiry-fleetdm.com",
            source=UPTIME,
            title="TLS certificate for fleetdm.com expires in 7 days",
            severity="warning",
            labels={"check": "tls-expiry", "host": "fleetdm.com", "region": "us-east"},
            repeats=(720,),
            ack=4,
            resolve=1210,
            by_hand=True,
        ),
    ),
)
LAST_WEEK = (
    (
        0,
        "10:20",
        Story(
            **_prometheus(
                "91d2e6a0c4b7f358",
                "DatabaseCPUHigh",
                "Managed Cloud: database CPU above 90%",
                "critical",
                "db-1 CPU has been above 90% for 10 minutes.",
                instance="db-1.mc-us-east-1.internal:9100",
            ),
            repeats=(5, 20, 35),
            ack=6,
            resolve=55,
        ),
    ),
    (
        1,
        "03:12",
        Story(
            key="https-5xx-fleetdm.com",
            source=UPTIME,
            title="fleetdm.com: HTTP 5xx above 2%",
            severity="critical",
            labels={"check": "https", "host": "fleetdm.com", "region": "eu-west"},
            repeats=(3, 6),
            resolve=8,  # gone by itself before anyone acknowledged it
        ),
    ),
    (
        2,
        "14:10",
        Story(
            **_prometheus(
                "c03f8a1e52d964b7",
                "APILatencyHigh",
                "Managed Cloud: API p99 latency above 2s",
                "critical",
                "fleet-api p99 latency is 2.4s over the last 5 minutes.",
                service="fleet-api",
                instance="fleet-api.mc-us-east-1.internal:8080",
            ),
            repeats=(10, 20, 30, 40, 50),
            ack=LATE,
            resolve=130,
        ),
    ),
    (
        3,
        "22:45",
        Story(
            **_prometheus(
                "5e7a9d3b10c2f846",
                "WorkerQueueBacklog",
                "Managed Cloud: worker queue backlog above 10,000 jobs",
                "warning",
                "The vulnerabilities queue holds 12,400 jobs.",
                queue="vulnerabilities",
                instance="fleet-worker.mc-us-east-1.internal:8080",
            ),
            repeats=(30,),
            ack=11,
            resolve=40,
            by_hand=True,
        ),
    ),
    (
        5,
        "06:30",
        Story(
            key="uptime-fleetdm.com",
            source=UPTIME,
            title="fleetdm.com: uptime check failed from 3 regions",
            severity="critical",
            labels={"check": "https", "host": "fleetdm.com", "regions": "us-east,eu-west,ap-south"},
            repeats=(2,),
            ack=5,
            resolve=18,
        ),
    ),
)
NOW = (
    # Acknowledged yesterday, still open: Alertmanager keeps resending it.
    (
        26 * 60,
        Story(
            **_prometheus(
                "a86d4f0b2e9c7135",
                "RedisMemoryHigh",
                "Managed Cloud: Redis memory above 85%",
                "warning",
                "redis-1 uses 87% of maxmemory.",
                instance="redis-1.mc-us-east-1.internal:9121",
            ),
            repeats=(240, 480, 720, 1500),
            ack=7,
        ),
    ),
    # Firing now: paged a few minutes ago, its next step still ahead.
    (
        6,
        Story(
            **_prometheus(
                "e2b94c7d0a3f6158",
                "ReplicationLag",
                "Managed Cloud: database replication lag above 30s",
                "critical",
                "db-2 is 41s behind db-1.",
                instance="db-2.mc-us-east-1.internal:9187",
            ),
            repeats=(5,),
        ),
    ),
)


def _iso(instant: datetime.datetime) -> str:
    return instant.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def notification(
    story: Story, *, opened: datetime.datetime, at: datetime.datetime, resolved: bool = False
) -> list[AlarmEvent]:
    """The notification the story's source sends at `at` (the first, a repeat or the resolved
    one), parsed as the webhook parses it."""
    status = "resolved" if resolved else "firing"
    if story.source == UPTIME:
        return alarm_formats.generic(
            {
                "title": story.title,
                "dedup_key": story.key,
                "severity": story.severity,
                "status": status,
                "labels": story.labels,
                "checked_at": _iso(at),
            }
        )
    alertname = story.labels["alertname"]
    alert = {
        "status": status,
        "labels": story.labels,
        "annotations": {
            "summary": story.title,
            "description": story.description,
            "runbook_url": f"https://fleetdm.com/handbook/engineering/runbooks#{alertname.lower()}",
        },
        "startsAt": _iso(opened),
        "endsAt": _iso(at) if resolved else NOT_YET,
        "generatorURL": f"https://prometheus.{CLUSTER}.fleetdm.com/graph?g0.expr={alertname}",
        "fingerprint": story.key,
    }
    return alarm_formats.alertmanager(
        {
            "version": "4",
            "status": status,
            "receiver": "ceres-infrastructure-oncall",
            "groupKey": f'{{}}:{{alertname="{alertname}"}}',
            "groupLabels": {"alertname": alertname},
            "commonLabels": story.labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": ALERTMANAGER_URL,
            "truncatedAlerts": 0,
            "alerts": [alert],
        }
    )
