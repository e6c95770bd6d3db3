"""Periodic jobs of conversations: forgetting the contact form's expired rate-limit counters."""

from __future__ import annotations

import datetime

from ceres.conversations import contact_form
from ceres.core.periodic.registry import periodic_job


@periodic_job("conversations.forget-contact-form-counters", every=datetime.timedelta(hours=1))
def forget_contact_form_counters() -> None:
    contact_form.forget_old_counters()
