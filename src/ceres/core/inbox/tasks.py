"""Background side of the inbox: processing one event, and the sweep that retries."""

from __future__ import annotations

import datetime

from django.conf import settings
from django_tasks import task

from ceres.core.inbox import services
from ceres.core.periodic.registry import periodic_job


@task()
def process_inbound_event(inbound_event_id: int) -> str:
    return services.process_event(inbound_event_id=inbound_event_id)


@periodic_job("inbox.sweep", every=datetime.timedelta(seconds=settings.CERES_SWEEP_SECONDS))
def sweep_inbox() -> None:
    services.sweep()
