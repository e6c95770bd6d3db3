"""The tracker's timers, swept periodically: the stand-up board's second business day."""

from __future__ import annotations

import datetime

from ceres.core.periodic.registry import periodic_job
from ceres.tracker import escalation, feature_requests, timebox


@periodic_job("tracker.standup-board", every=datetime.timedelta(minutes=5))
def standup_board() -> None:
    escalation.expire_board()


@periodic_job("tracker.timebox-overrun", every=datetime.timedelta(minutes=1))
def timebox_overrun() -> None:
    """Investigation blocks past their hour: one "escalate?" prompt each; forgotten ones stop."""
    timebox.sweep_overrun()


@periodic_job("tracker.feature-request-reminders", every=datetime.timedelta(minutes=15))
def feature_request_reminders() -> None:
    """Released feature requests whose CSM has not recorded the customer's feedback."""
    feature_requests.send_reminders()
