"""The kernel's background tasks and periodic jobs, gathered so that `load_jobs()` (which
imports each app's `tasks` module) finds the ones that live in the mechanisms' packages."""

from ceres.core.inbox import tasks as inbox_tasks
from ceres.core.outbox import tasks as outbox_tasks
from ceres.core.periodic import tasks as periodic_tasks

__all__ = ["inbox_tasks", "outbox_tasks", "periodic_tasks"]
