"""The scheduler's own housekeeping job."""

from __future__ import annotations

import datetime
import logging

from ceres.core.periodic import services
from ceres.core.periodic.registry import periodic_job

log = logging.getLogger(__name__)

RUN_RETENTION = datetime.timedelta(days=7)


@periodic_job("periodic.prune-runs", every=datetime.timedelta(hours=1))
def prune_periodic_job_runs() -> None:
    """Keep a week of runs for the record; without this the table grows by thousands a day."""
    deleted = services.prune_job_runs(older_than=RUN_RETENTION)
    if deleted:
        log.info("pruned %d periodic job run(s) older than %s", deleted, RUN_RETENTION)
