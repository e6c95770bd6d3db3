"""On-call's timers, swept periodically."""

from __future__ import annotations

import datetime

from ceres.core.periodic.registry import periodic_job
from ceres.oncall import escalation


@periodic_job("oncall.escalation", every=datetime.timedelta(seconds=30))
def escalation_sweep() -> None:
    """Alarms whose timer passed: the next step, a repeat, or an expired acknowledgement."""
    escalation.sweep()
