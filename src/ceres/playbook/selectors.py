"""Reads of the playbook's records: whether one was applied, and the organization it named."""

from __future__ import annotations

from ceres.playbook.models import Organization, PlaybookApplication


def is_applied() -> bool:
    """True once any playbook has been applied (the demo loader uses this to run once)."""
    return PlaybookApplication.objects.exists()


def last_application() -> PlaybookApplication | None:
    return PlaybookApplication.objects.order_by("-applied_at", "-id").first()


def organization() -> Organization | None:
    """The organization set by the playbook, or None before the first apply that names one."""
    return Organization.objects.filter(pk=Organization.SINGLETON_ID).first()
