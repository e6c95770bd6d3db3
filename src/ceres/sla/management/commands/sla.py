"""`ceres sla preview --policy NAME --received ISO8601 [--priority P1]`: when each target of
a policy would fall due, one `TARGET DUE` line each."""

from __future__ import annotations

import datetime
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ceres.core.errors import CeresError
from ceres.sla import selectors


class Command(BaseCommand):
    help = "SLA tools: preview when a policy's targets fall due."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        preview = sub.add_parser("preview", help="print TARGET DUE lines for a policy")
        preview.add_argument("--policy", required=True)
        preview.add_argument("--received", required=True, help="ISO 8601 with a UTC offset")
        preview.add_argument("--priority", choices=["P0", "P1", "P2", "P3"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            received = datetime.datetime.fromisoformat(options["received"])
        except ValueError as exc:
            raise CommandError(
                "--received: not an ISO 8601 date and time (e.g. 2026-05-22T15:00:00-05:00)",
                returncode=2,
            ) from exc
        try:
            lines = selectors.preview(policy_key=options["policy"], received_at=received)
        except CeresError as exc:
            name = {"received": "--received", "policy": "--policy"}.get(exc.field, exc.field)
            raise CommandError(f"{name}: {exc.message}", returncode=2) from exc
        for line in lines:
            self.stdout.write(f"{line.target} {line.due.isoformat()}")
