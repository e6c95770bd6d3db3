"""Background side of the outbox: the delivery task and the sweep that re-enqueues lost work."""

from __future__ import annotations

import datetime

from django.conf import settings
from django_tasks import task

from ceres.core.outbox import services
from ceres.core.periodic.registry import periodic_job


@task()
def deliver_outbox_message(message_id: int) -> str:
    return services.deliver_message(message_id=message_id)


@periodic_job("outbox.sweep", every=datetime.timedelta(seconds=settings.CERES_SWEEP_SECONDS))
def sweep_outbox() -> None:
    services.sweep()
