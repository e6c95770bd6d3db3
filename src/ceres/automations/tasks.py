"""Schedule rules: looked at every minute, each run once per moment across workers."""

from __future__ import annotations

import datetime

from ceres.automations import services
from ceres.core.periodic.registry import periodic_job


@periodic_job("automations.schedules", every=datetime.timedelta(minutes=1))
def run_schedule_rules() -> None:
    services.run_schedules()
