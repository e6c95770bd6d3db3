"""Benchmarks. Each prints its figures and a ratio against a baseline measured in the same run.

1. `ceres demo --accounts 10000`: wall time to create 10,000 accounts with contacts.
2. The account list API (page of 50, filtered by product, sorted by hosts) at 10,000 accounts,
   p50/p95 over real HTTP through gunicorn, against the trivial `/api/v1/ping` of the same
   stack (same server, same auth middleware path, same process) in the same run.

Usage: `make bench` (SQLite in a temporary directory); `BENCH_POSTGRES=postgresql://host/db`
runs the same against PostgreSQL in a scratch database created next to that one and dropped
afterwards.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import time

from common import (  # bench/common.py (run as python bench/x.py)
    BIN,
    ceres,
    free_port,
    percentile,
    scratch,
    timed_get,
)

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))


def main() -> None:
    with scratch("accounts") as (label, env, _):
        run_benchmarks(env, label)


def run_benchmarks(env: dict[str, str], label: str) -> None:
    ceres(env, "migrate", "-v0")
    # The demo's 10,000 accounts; a bare `ceres check` is the baseline of the same stack.
    start = time.perf_counter()
    ceres(env, "demo", "--accounts", str(ACCOUNTS), "--seed", "7", "--no-progress")
    demo_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ceres(env, "check")
    baseline_cli = time.perf_counter() - start
    print(
        f"[{label}] ceres demo --accounts {ACCOUNTS}: {demo_seconds:.1f} s "
        f"(ratio to a bare `ceres check` in the same run: {demo_seconds / baseline_cli:.1f}x)"
    )

    token = ceres(env, "token", "create", "lena", "--name", "bench").strip()
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "ceres.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        list_path = "/api/v1/accounts?product=premium&kind=customer&sort=-hosts&page_size=50&page=3"
        for _ in range(20):  # warm up both
            timed_get(conn, "/api/v1/ping", headers)
            timed_get(conn, list_path, headers)
        ping, listing = [], []
        for _ in range(REQUESTS):  # interleaved so both see the same machine noise
            ping.append(timed_get(conn, "/api/v1/ping", headers))
            listing.append(timed_get(conn, list_path, headers))
    finally:
        server.terminate()
        server.wait(timeout=10)
    for name, values in (("trivial /api/v1/ping", ping), ("account list, page of 50", listing)):
        print(
            f"[{label}] {name}: p50 {statistics.median(values) * 1000:.2f} ms, "
            f"p95 {percentile(values, 95) * 1000:.2f} ms over {len(values)} requests"
        )
    p50 = statistics.median(listing) / statistics.median(ping)
    p95 = percentile(listing, 95) / percentile(ping, 95)
    print(f"[{label}] ratio list/ping: p50 {p50:.1f}x, p95 {p95:.1f}x")


if __name__ == "__main__":
    main()
