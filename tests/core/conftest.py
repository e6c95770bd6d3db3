from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ceres.core.inbox import registry as inbox_registry
from ceres.core.outbox import channels
from ceres.core.periodic import registry as periodic_registry
from tests.core.processes import WorkerProcesses


@pytest.fixture(autouse=True)
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests register their own channels, handlers and jobs; none outlives its test. The real
    ones are loaded first, so a module imported during a test cannot register into a copy."""
    periodic_registry.load_jobs()
    monkeypatch.setattr(channels, "_CHANNELS", dict(channels._CHANNELS))
    monkeypatch.setattr(inbox_registry, "_HANDLERS", dict(inbox_registry._HANDLERS))
    monkeypatch.setattr(periodic_registry, "_JOBS", dict(periodic_registry._JOBS))


@pytest.fixture
def worker_processes(transactional_db: None, tmp_path: Path) -> Iterator[WorkerProcesses]:
    workers = WorkerProcesses(tmp_path)
    try:
        yield workers
    finally:
        workers.close()
