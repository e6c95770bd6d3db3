from __future__ import annotations

import datetime
import random
import threading

import pytest
from django.db import connections
from pytest_django import DjangoAssertNumQueries

from ceres.core.backoff import retry_delay
from ceres.core.periodic import services
from ceres.core.periodic.models import PeriodicJobRun
from ceres.core.periodic.registry import PeriodicJob, load_jobs, periodic_job, registered_jobs

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)


def at(hour: int, minute: int, second: float = 0) -> datetime.datetime:
    whole = int(second)
    return datetime.datetime(
        2026, 3, 29, hour, minute, whole, int((second - whole) * 1e6), tzinfo=UTC
    )


def counting_job(name: str = "test.count", every: datetime.timedelta = MINUTE) -> list[int]:
    runs: list[int] = []

    @periodic_job(name, every=every)
    def count() -> None:
        runs.append(1)

    return runs


def test_slots_are_floored_in_utc_whatever_the_time_zone() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=2))
    assert services.slot_for(now=at(10, 7, 59.9), every=MINUTE) == at(10, 7)
    assert services.slot_for(now=at(10, 7).astimezone(paris), every=MINUTE) == at(10, 7)
    every_5 = datetime.timedelta(minutes=5)
    assert services.slot_for(now=at(10, 9, 59), every=every_5) == at(10, 5)
    assert services.slot_for(now=at(10, 10), every=every_5) == at(10, 10)
    hourly = datetime.timedelta(hours=1)
    assert services.slot_for(now=at(0, 59), every=hourly) == at(0, 0)


def test_the_kernel_jobs_are_registered() -> None:
    names = {job.name for job in load_jobs()}
    assert {"outbox.sweep", "inbox.sweep", "periodic.prune-runs"} <= names


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one second"):
        periodic_job("too.fast", every=datetime.timedelta(milliseconds=500))
    counting_job("test.dup")
    with pytest.raises(ValueError, match="already registered"):
        counting_job("test.dup")


@pytest.mark.django_db
def test_two_schedulers_ticking_for_the_same_slot_run_it_once() -> None:
    runs = counting_job()
    jobs = [job for job in registered_jobs() if job.name == "test.count"]
    assert services.run_due_jobs(now=at(9, 0, 1), claimed_by="a", jobs=jobs) == {
        "test.count": "ran"
    }
    assert services.run_due_jobs(now=at(9, 0, 30), claimed_by="b", jobs=jobs) == {
        "test.count": "skipped"
    }
    assert services.run_due_jobs(now=at(9, 1, 0), claimed_by="b", jobs=jobs) == {
        "test.count": "ran"
    }
    assert len(runs) == 2
    rows = PeriodicJobRun.objects.order_by("slot")
    assert [(r.slot, r.claimed_by, r.status) for r in rows] == [
        (at(9, 0), "a", "done"),
        (at(9, 1), "b", "done"),
    ]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_does_not_stop_the_others() -> None:
    def broken() -> None:
        raise RuntimeError("sweep exploded")

    periodic_job("test.broken", every=MINUTE)(broken)
    runs = counting_job()
    jobs = [job for job in registered_jobs() if job.name.startswith("test.")]
    outcomes = services.run_due_jobs(now=at(9, 0), jobs=jobs)
    assert outcomes == {"test.broken": "failed", "test.count": "ran"}
    failed = PeriodicJobRun.objects.get(job_name="test.broken")
    assert failed.status == "failed"
    assert "sweep exploded" in failed.error
    assert failed.finished_at is not None
    assert runs == [1]


@pytest.mark.django_db
def test_the_scheduler_queries_only_when_a_new_slot_begins(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    runs = counting_job()
    jobs = [job for job in registered_jobs() if job.name == "test.count"]
    scheduler = services.Scheduler(claimed_by="w1", jobs=jobs)
    assert scheduler.tick(now=at(9, 0, 1)) == {"test.count": "ran"}
    with django_assert_num_queries(0):
        assert scheduler.tick(now=at(9, 0, 2)) == {}
        assert scheduler.tick(now=at(9, 0, 59)) == {}
    assert scheduler.tick(now=at(9, 1, 0)) == {"test.count": "ran"}
    # A slot another scheduler took is settled too: skipped once, then left alone.
    other = services.Scheduler(claimed_by="w2", jobs=jobs)
    assert other.tick(now=at(9, 1, 5)) == {"test.count": "skipped"}
    assert other.tick(now=at(9, 1, 6)) == {}
    assert len(runs) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_in_threads_claim_each_slot_once() -> None:
    """Real concurrency: several threads, each with its own database connection, tick for
    the same slots at the same moment."""
    runs = counting_job()
    jobs = [job for job in registered_jobs() if job.name == "test.count"]
    slots = [at(9, m) for m in range(3)]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def scheduler(name: str) -> None:
        try:
            for slot in slots:
                barrier.wait(timeout=10)
                result = services.run_due_jobs(now=slot, claimed_by=name, jobs=jobs)
                outcomes.append(result["test.count"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcomes) == ["ran"] * 3 + ["skipped"] * 9
    assert len(runs) == 3
    assert PeriodicJobRun.objects.filter(job_name="test.count").count() == 3


@pytest.mark.django_db
def test_old_runs_are_pruned() -> None:
    now = datetime.datetime.now(tz=UTC)
    job = PeriodicJob(name="test.x", every=MINUTE, run=lambda: None)
    services.run_job(job, slot=now - datetime.timedelta(days=8))
    services.run_job(job, slot=now - datetime.timedelta(days=1))
    assert services.prune_job_runs(older_than=datetime.timedelta(days=7)) == 1
    assert PeriodicJobRun.objects.count() == 1


def test_retry_delays_double_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(7)
    for attempt, nominal in [(1, 10), (2, 20), (3, 40), (8, 1280), (9, 2000), (30, 2000)]:
        delays = [
            retry_delay(attempt=attempt, base_seconds=10, max_seconds=2000, rng=rng)
            for _ in range(50)
        ]
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert len(set(delays)) > 1  # jittered, so an outage does not end in a stampede
