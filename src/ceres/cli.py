"""The `ceres` command: Django's management commands under one name.

`ceres migrate`, `ceres runserver 127.0.0.1:8000`, `ceres worker`, `ceres apply`, `ceres demo`,
`ceres token create USERNAME`, `ceres run` (web app + worker, as `make run` uses it).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ceres.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ceres", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
