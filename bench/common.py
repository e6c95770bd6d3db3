"""What the benchmarks share: a scratch database, running `ceres`, a free local port,
percentiles, timed GETs."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def ceres(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(BIN / "ceres"), *args], env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: a value that occurred."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status}: {body[:200]!r}")
    return elapsed


@contextmanager
def scratch(name: str, **extra_env: str) -> Iterator[tuple[str, dict[str, str], Path]]:
    """(label, environment, work directory) of a scratch Ceres: SQLite in a temporary
    CERES_VAR_DIR or, with BENCH_POSTGRES, a PostgreSQL database created next to that one and
    dropped afterwards (with every connection to it)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ceres-bench-{name}-"))
    server_url = os.environ.get("BENCH_POSTGRES", "")
    database = f"ceres_bench_{name.replace('-', '_')}_{os.getpid()}"
    env = {
        **os.environ,
        "CERES_VAR_DIR": str(workdir),
        "DJANGO_SETTINGS_MODULE": "ceres.settings",
        "DATABASE_URL": "",
        **extra_env,
    }
    if server_url:
        import psycopg

        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {database}")
        env["DATABASE_URL"] = server_url.rsplit("/", 1)[0] + "/" + database
    try:
        yield ("PostgreSQL" if server_url else "SQLite"), env, workdir
    finally:
        if server_url:
            if "django.db" in sys.modules:  # a benchmark that wrote rows from this process
                from django.db import connections

                connections.close_all()
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)
