"""The SLA sweep, every few seconds, once per slot across workers."""

from __future__ import annotations

import datetime

from ceres.core.periodic.registry import periodic_job
from ceres.sla import services


@periodic_job("sla.sweep", every=datetime.timedelta(seconds=5))
def sweep_sla_clocks() -> None:
    services.sweep()
