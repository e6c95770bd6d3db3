"""On-call's timers, swept periodically."""

from __future__ import annotations

import datetime

from ceres.core.periodic.registry import periodic_job
from ceres.oncall import escalation, gaps, handoff, slack_sync


@periodic_job("oncall.escalation", every=datetime.timedelta(seconds=30))
def escalation_sweep() -> None:
    """Alarms whose timer passed: the next step, a repeat, or an expired acknowledgement."""
    escalation.sweep_all()


@periodic_job("oncall.usergroup-sync", every=datetime.timedelta(minutes=1))
def usergroup_sync() -> None:
    """The Slack on-call user groups follow who is on call: each handoff sent within a minute."""
    slack_sync.sync_usergroups()


@periodic_job("oncall.gap-alerts", every=datetime.timedelta(minutes=15))
def gap_alerts() -> None:
    """Gaps (nobody on call) in the week ahead, announced once each."""
    gaps.alert_gaps()


@periodic_job("oncall.handoff-summaries", every=datetime.timedelta(minutes=15))
def handoff_summaries() -> None:
    """After each week's handoff: the outgoing on-call's summary drafted, and they are told."""
    handoff.draft_summaries()
