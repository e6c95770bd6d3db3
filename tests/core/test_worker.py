"""`ceres worker` as operators run it: real processes against the test database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ceres.core.outbox import services
from ceres.core.outbox.email_channel import message_id_for
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.models import PeriodicJobRun
from tests.core.processes import WorkerProcesses, wait_until
from tests.fakes.smtp import FakeSmtpServer

pytestmark = pytest.mark.slow
EMAIL = {"to": ["wile@acme.example"], "subject": "Your escalation", "body": "We are on it."}


def status_of(message: OutboxMessage) -> str:
    return OutboxMessage.objects.values_list("status", flat=True).get(pk=message.pk)


def test_a_worker_killed_while_sending_leaves_one_delivered_email(
    worker_processes: WorkerProcesses,
) -> None:
    """The scenario the outbox exists for: the SMTP server has the message and the worker dies
    before hearing "250". The lease expires, the sweep hands the message to a new worker, and
    the receiver ends up with exactly one accepted message under the deterministic Message-ID."""
    with FakeSmtpServer(hang_first_data=True) as smtp:
        env = {
            "CERES_EMAIL_HOST": "127.0.0.1",
            "CERES_EMAIL_PORT": str(smtp.port),
            "CERES_EMAIL_TIMEOUT": "30",
            "CERES_OUTBOX_LEASE_SECONDS": "2",
        }
        message = services.enqueue(channel="email", idempotency_key="esc-17-update", payload=EMAIL)
        first = worker_processes.start(env=env)
        try:
            wait_until(smtp.hung.is_set, timeout=20, what="the first worker to hang in DATA")
            assert status_of(message) == OutboxMessage.Status.DELIVERING
            first.kill()
            first.wait(timeout=10)
            wait_until(smtp.hang_cancelled.is_set, timeout=5, what="the server to see it go")
            smtp.release.set()

            second = worker_processes.start(env=env)
            wait_until(
                lambda: status_of(message) == OutboxMessage.Status.SENT,
                timeout=20,
                what="the second worker to deliver",
            )
            assert worker_processes.stop(second) == 0  # SIGTERM: a clean exit
        except BaseException:
            print(worker_processes.output())
            raise

    message_id = message_id_for("esc-17-update")
    assert len(smtp.accepted_with(message_id)) == 1
    # Both attempts carried the same identity, so even a server that had kept the first copy
    # could tell the second one is the same message.
    assert len(smtp.received_with(message_id)) == 2
    assert len(smtp.accepted) == 1
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2
    assert message.provider_reference == message_id


def test_two_workers_run_each_periodic_slot_once(
    worker_processes: WorkerProcesses, tmp_path: Path
) -> None:
    probe_file = tmp_path / "probe-runs.txt"
    env = {"CERES_TEST_PROBE_FILE": str(probe_file)}
    workers = [
        worker_processes.start(env=env, preload="tests.core.periodic_probe") for _ in range(2)
    ]
    try:
        wait_until(
            lambda: all("starting" in log.read_text() for log in worker_processes.logs),
            timeout=20,
            what="both workers to start",
        )
        started = PeriodicJobRun.objects.filter(job_name="test.probe").count()
        wait_until(
            lambda: PeriodicJobRun.objects.filter(job_name="test.probe").count() >= started + 3,
            timeout=20,
            what="three more slots",
        )
        assert [worker_processes.stop(worker) for worker in workers] == [0, 0]
    except BaseException:
        print(worker_processes.output())
        raise

    runs = list(PeriodicJobRun.objects.filter(job_name="test.probe").order_by("slot"))
    executions = Counter(probe_file.read_text().split())
    claims = Counter(run.claimed_by.split("-")[-2] for run in runs)
    # Every execution is the one claimed run of its slot: no slot ran twice, none ran unclaimed.
    assert executions == claims
    assert sum(executions.values()) == len(runs) >= 3
    assert len({run.slot for run in runs}) == len(runs)
    assert all(run.status == PeriodicJobRun.Status.DONE for run in runs)
    # The sweeps ran beside it, each slot once as well.
    for name in ("outbox.sweep", "inbox.sweep"):
        slots = list(PeriodicJobRun.objects.filter(job_name=name).values_list("slot", flat=True))
        assert slots
        assert len(slots) == len(set(slots))
