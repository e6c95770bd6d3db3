"""Running real `ceres worker` processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[2]


def subprocess_database_url() -> str:
    """The URL of the database this test run uses, for a worker started as a subprocess."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgresql://{credentials}{host}:{port}/{quote(db['NAME'])}"


class WorkerProcesses:
    """Starts `ceres worker` processes against the test database and stops them all at the end
    (before pytest-django flushes or drops the database they use)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ceres.settings",
            "DATABASE_URL": subprocess_database_url(),
            "CERES_VAR_DIR": str(tmp_path / "var"),
            "CERES_SECRET_KEY": "test-only-secret-key",
            "CERES_TASKS_BACKEND": "db",
            "CERES_SWEEP_SECONDS": "1",
            "CERES_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(
        self, *, env: dict[str, str] | None = None, preload: str = ""
    ) -> subprocess.Popen[bytes]:
        """`preload` names a module imported before the command runs (a test's periodic job)."""
        argv = ["worker", "--interval", "0.1", "--scheduler-interval", "0.2", "--no-startup-delay"]
        code = f"import {preload}; " if preload else ""
        code += f"from ceres.cli import main; main({argv!r})"
        log_path = self.tmp_path / f"worker-{len(self.processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO_ROOT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        self.logs.append(log_path)
        return process

    def stop(self, process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> int:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout)

    def output(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()}" for path in self.logs)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
