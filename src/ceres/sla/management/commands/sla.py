"""`ceres sla preview --policy NAME --received ISO8601 [--priority P1] [--playbook FILE]`: when
each target of a policy would fall due, one `TARGET DUE` line each.

With `--playbook`, the file's calendars and policies are applied inside a transaction that is
rolled back once the preview is computed: the answer is what the file would do, checked exactly
as `ceres apply` checks it, and nothing is changed."""

from __future__ import annotations

import datetime
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ceres.core.errors import CeresError
from ceres.playbook.services import PlaybookError, apply_path
from ceres.sla import selectors


class Command(BaseCommand):
    help = "SLA tools: preview when a policy's targets fall due."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        preview = sub.add_parser("preview", help="print TARGET DUE lines for a policy")
        preview.add_argument("--policy", required=True)
        preview.add_argument("--received", required=True, help="ISO 8601 with a UTC offset")
        preview.add_argument("--priority", choices=["P0", "P1", "P2", "P3"], default=None)
        preview.add_argument(
            "--playbook",
            type=Path,
            default=None,
            help="preview with this playbook's calendars and policies, without applying it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            received = datetime.datetime.fromisoformat(options["received"])
        except ValueError as exc:
            raise CommandError(
                "--received: not an ISO 8601 date and time (e.g. 2026-05-22T15:00:00-05:00)",
                returncode=2,
            ) from exc
        playbook: Path | None = options["playbook"]
        try:
            if playbook is None:
                lines = selectors.preview(policy_key=options["policy"], received_at=received)
            else:
                lines = _preview_with(playbook, policy_key=options["policy"], received=received)
        except PlaybookError as exc:
            for error in exc.errors:
                self.stderr.write(error)
            count = len(exc.errors)
            raise CommandError(
                f"{playbook}: not valid, {count} problem{'s' if count != 1 else ''}", returncode=2
            ) from exc
        except CeresError as exc:
            name = {"received": "--received", "policy": "--policy"}.get(exc.field, exc.field)
            raise CommandError(f"{name}: {exc.message}", returncode=2) from exc
        for line in lines:
            self.stdout.write(f"{line.target} {line.due.isoformat()}")


def _preview_with(
    playbook: Path, *, policy_key: str, received: datetime.datetime
) -> list[selectors.PreviewLine]:
    with transaction.atomic():
        apply_path(playbook)
        lines = selectors.preview(policy_key=policy_key, received_at=received)
        transaction.set_rollback(True)
    return lines
