"""A periodic job for the two-worker test; the worker subprocesses import it before starting.

Each run appends the worker's pid to a file, so the test can compare what actually ran with
the slots the workers claimed.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from ceres.core.periodic.registry import periodic_job


@periodic_job("test.probe", every=datetime.timedelta(seconds=1))
def probe() -> None:
    with Path(os.environ["CERES_TEST_PROBE_FILE"]).open("a") as runs:
        runs.write(f"{os.getpid()}\n")
