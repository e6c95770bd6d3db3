"""The weekly digest of the customer-questions log: tried hourly, sent once a week."""

from __future__ import annotations

import datetime

from ceres.core.periodic.registry import periodic_job
from ceres.reviews import services


@periodic_job("reviews.questions-digest", every=datetime.timedelta(hours=1))
def questions_digest() -> None:
    services.send_weekly_digest()
