"""Models of the shared kernel. Each mechanism keeps its models in its own module."""

from ceres.core.audit.models import AuditEntry
from ceres.core.inbox.models import InboundEvent
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.models import PeriodicJobRun

__all__ = ["AuditEntry", "InboundEvent", "OutboxMessage", "PeriodicJobRun"]
