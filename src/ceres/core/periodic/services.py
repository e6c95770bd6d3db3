"""Running periodic jobs: each job's current time slot is claimed by inserting a row under a
unique (job_name, slot) constraint, so with several schedulers (several `ceres worker`
processes, several machines) each slot runs exactly once: the loser of the insert skips."""

from __future__ import annotations

import datetime
import logging
import traceback
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ceres.core.periodic.models import PeriodicJobRun
from ceres.core.periodic.registry import PeriodicJob, registered_jobs

log = logging.getLogger(__name__)

RAN, FAILED, SKIPPED = "ran", "failed", "skipped"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def slot_for(*, now: datetime.datetime, every: datetime.timedelta) -> datetime.datetime:
    """`now` floored to a multiple of `every` since the epoch, in UTC: every scheduler on every
    machine computes the same slot without talking to the others."""
    elapsed = now.astimezone(datetime.UTC) - _EPOCH
    return _EPOCH + (elapsed // every) * every


def _claim(job: PeriodicJob, *, slot: datetime.datetime, claimed_by: str) -> PeriodicJobRun | None:
    try:
        with transaction.atomic():
            return PeriodicJobRun.objects.create(
                job_name=job.name, slot=slot, claimed_by=claimed_by
            )
    except IntegrityError:
        return None


def run_job(job: PeriodicJob, *, slot: datetime.datetime, claimed_by: str = "") -> str:
    """Run `job` for `slot` unless another scheduler already has that slot."""
    run = _claim(job, slot=slot, claimed_by=claimed_by[:100])
    if run is None:
        return SKIPPED
    try:
        job.run()
    except Exception:
        log.exception("periodic job %s failed for slot %s", job.name, slot.isoformat())
        run.status, run.error = PeriodicJobRun.Status.FAILED, traceback.format_exc()[-4000:]
        outcome = FAILED
    else:
        run.status = PeriodicJobRun.Status.DONE
        outcome = RAN
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return outcome


def run_due_jobs(
    *,
    now: datetime.datetime | None = None,
    claimed_by: str = "",
    jobs: Iterable[PeriodicJob] | None = None,
) -> dict[str, str]:
    """One scheduler tick: each job's current slot, claimed and run, or skipped when taken.
    Returns {job name: "ran" | "failed" | "skipped"}."""
    now = timezone.now() if now is None else now
    return {
        job.name: run_job(job, slot=slot_for(now=now, every=job.every), claimed_by=claimed_by)
        for job in (registered_jobs() if jobs is None else jobs)
    }


class Scheduler:
    """A scheduler that ticks often: it remembers the slots it has already settled (ran or
    lost to another scheduler), so a tick costs no query until some job's next slot begins."""

    def __init__(self, *, claimed_by: str, jobs: Iterable[PeriodicJob] | None = None) -> None:
        self.claimed_by = claimed_by
        self.jobs = list(registered_jobs() if jobs is None else jobs)
        self._settled: dict[str, datetime.datetime] = {}

    def tick(self, *, now: datetime.datetime | None = None) -> dict[str, str]:
        now = timezone.now() if now is None else now
        outcomes: dict[str, str] = {}
        for job in self.jobs:
            slot = slot_for(now=now, every=job.every)
            if self._settled.get(job.name) == slot:
                continue
            outcomes[job.name] = run_job(job, slot=slot, claimed_by=self.claimed_by)
            self._settled[job.name] = slot
        return outcomes


def prune_job_runs(*, older_than: datetime.timedelta) -> int:
    deleted, _ = PeriodicJobRun.objects.filter(slot__lt=timezone.now() - older_than).delete()
    return deleted
