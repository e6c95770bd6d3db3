"""Periodic jobs are declared with `@periodic_job` next to their code, in an app's `tasks.py`;
`load_jobs()` imports every app's `tasks` module, so this registry is the one list of what the
scheduler runs (`ceres worker --list-jobs` prints it).

A job is a function without arguments that acts on what is due and is idempotent: the scheduler
runs it at most once per slot however many workers tick, but it does not catch up on slots
missed while no worker was running, and a slot whose worker died mid-run is not repeated.
Keep jobs short (a sweep that enqueues tasks); long work belongs in a task.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules

JobFunction = Callable[[], object]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: datetime.timedelta
    run: JobFunction


_JOBS: dict[str, PeriodicJob] = {}


def _check_declaration(name: str, every: datetime.timedelta) -> None:
    if not name or len(name) > 100:
        raise ValueError("a periodic job name must be 1 to 100 characters")
    if every < datetime.timedelta(seconds=1):
        raise ValueError(f"periodic job {name!r}: the interval must be at least one second")


def register_periodic_job(name: str, *, every: datetime.timedelta, run: JobFunction) -> PeriodicJob:
    _check_declaration(name, every)
    existing = _JOBS.get(name)
    if existing is not None and existing.run is not run:
        raise ValueError(f"periodic job {name!r} is already registered to another function")
    job = PeriodicJob(name=name, every=every, run=run)
    _JOBS[name] = job
    return job


def periodic_job(name: str, *, every: datetime.timedelta) -> Callable[[JobFunction], JobFunction]:
    """Decorator: run the function once per `every`, on slots aligned to the UTC epoch."""
    _check_declaration(name, every)

    def register(function: JobFunction) -> JobFunction:
        register_periodic_job(name, every=every, run=function)
        return function

    return register


def load_jobs() -> list[PeriodicJob]:
    autodiscover_modules("tasks")
    return registered_jobs()


def registered_jobs() -> list[PeriodicJob]:
    return sorted(_JOBS.values(), key=lambda job: job.name)
