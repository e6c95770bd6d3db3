"""`ceres worker`: the one background process. It runs queued tasks (django-tasks-db's worker
loop) and, in a thread beside it, the periodic scheduler.

Run as many as you like: the task queue hands each task to one worker (SKIP LOCKED on
PostgreSQL, an exclusive transaction on SQLite) and the scheduler runs each job's time slot
once across all of them. SIGTERM or Ctrl-C lets the running task finish, then exits 0; a second
signal stops at once (exit 1), and the outbox and inbox sweeps retry what was cut short.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from argparse import ArgumentParser
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker

from ceres.core.periodic.registry import load_jobs
from ceres.core.periodic.services import Scheduler

log = logging.getLogger("ceres.worker")

SCHEDULER_JOIN_SECONDS = 30.0


def default_worker_id() -> str:
    """Unique across machines and restarts, readable in the task and job-run tables."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(6)}"


class TaskWorker(Worker):
    """The django-tasks-db worker loop, also stopping the scheduler when a signal arrives."""

    def __init__(self, *, on_shutdown: Callable[[], None], **options: Any) -> None:
        super().__init__(**options)
        self.on_shutdown = on_shutdown

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        self.on_shutdown()
        super().shutdown(signum, frame)


def run_scheduler(*, stop: threading.Event, interval: float, worker_id: str) -> None:
    """Tick until `stop` is set. A failed tick (a locked or unreachable database) is logged and
    retried at the next one: the scheduler thread must never die quietly."""
    scheduler = Scheduler(claimed_by=worker_id)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                for name, outcome in scheduler.tick().items():
                    log.debug("periodic job %s: %s", name, outcome)
            except Exception:
                log.exception("scheduler tick failed; retrying in %.1f s", interval)
            stop.wait(interval)
    finally:
        connections.close_all()


class Command(BaseCommand):
    help = "Run background tasks and the periodic scheduler; several may run at once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--queue-name", default=DEFAULT_TASK_QUEUE_NAME)
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds to wait when no task is ready (default: %(default)s)",
        )
        parser.add_argument(
            "--scheduler-interval",
            type=float,
            default=1.0,
            help="seconds between scheduler ticks; a tick without a new slot costs no query",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="one scheduler tick, then every ready task, then exit (cron, tests)",
        )
        parser.add_argument("--no-scheduler", action="store_true", help="run tasks only")
        parser.add_argument("--no-startup-delay", action="store_true")
        parser.add_argument("--worker-id", default="", help="default: host-pid-random")
        parser.add_argument("--list-jobs", action="store_true", help="print the periodic jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = load_jobs()
        if options["list_jobs"]:
            for job in jobs:
                self.stdout.write(f"{job.name:30} every {job.every}")
            return
        for name in ("interval", "scheduler_interval"):
            if not options[name] > 0:
                raise CommandError(f"--{name.replace('_', '-')}: must be positive", returncode=2)
        worker_id = options["worker_id"] or default_worker_id()
        if len(worker_id) > 64:
            raise CommandError("--worker-id: at most 64 characters", returncode=2)
        with_scheduler = not options["no_scheduler"]
        has_queue = isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)
        if not has_queue and not with_scheduler:
            raise CommandError(
                "the task backend runs tasks itself (CERES_TASKS_BACKEND is not db) and "
                "--no-scheduler leaves nothing to do",
                returncode=2,
            )
        log.info(
            "worker %s starting (task queue: %s, scheduler: %s, %d periodic jobs)",
            worker_id,
            has_queue,
            with_scheduler,
            len(jobs),
        )
        if options["batch"]:
            if with_scheduler:
                Scheduler(claimed_by=worker_id).tick()
            if has_queue:
                self._worker(
                    options, worker_id=worker_id, batch=True, on_shutdown=lambda: None
                ).run()
            return

        stop = threading.Event()
        scheduler = threading.Thread(
            target=run_scheduler,
            kwargs={
                "stop": stop,
                "interval": options["scheduler_interval"],
                "worker_id": worker_id,
            },
            name="ceres-scheduler",
            daemon=True,
        )
        try:
            if with_scheduler:
                scheduler.start()
            if has_queue:
                worker = self._worker(
                    options, worker_id=worker_id, batch=False, on_shutdown=stop.set
                )
                worker.configure_signals()
                worker.run()
            else:
                self._wait_for_signal(stop)
        finally:
            stop.set()
            if scheduler.is_alive():
                scheduler.join(SCHEDULER_JOIN_SECONDS)
            log.info("worker %s stopped", worker_id)

    def _worker(
        self,
        options: dict[str, Any],
        *,
        worker_id: str,
        batch: bool,
        on_shutdown: Callable[[], None],
    ) -> TaskWorker:
        return TaskWorker(
            on_shutdown=on_shutdown,
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=batch,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=not options["no_startup_delay"],
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )

    @staticmethod
    def _wait_for_signal(stop: threading.Event) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not stop.wait(1.0):
            pass
