"""`ceres apply PLAYBOOK.yaml [--dry-run]`: show the diff against the database and apply it.

Problems are printed one per line as `FILE:LINE: field.path: message` (the form editors and CI
annotations read), then the command exits with status 2 and nothing applied.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ceres.playbook.services import ApplyResult, PlaybookError, apply_path


class Command(BaseCommand):
    help = "Apply a playbook (YAML) to the database; --dry-run only shows the diff."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("playbook", type=Path, help="path of the playbook YAML file")
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["playbook"]
        try:
            result = apply_path(path, dry_run=options["dry_run"])
        except PlaybookError as exc:
            for line in exc.errors:
                self.stderr.write(line)
            count = len(exc.errors)
            raise CommandError(
                f"{path}: not applied, {count} problem{'s' if count != 1 else ''}", returncode=2
            ) from exc
        self._print(result, path)

    def _print(self, result: ApplyResult, path: Path) -> None:
        for line in result.changes:
            style = self.style.SUCCESS if line.startswith("+") else self.style.WARNING
            self.stdout.write(style(line))
        for line in result.kept:
            self.stdout.write(line)
        self.stdout.write(f"= {result.unchanged} unchanged")
        for line in result.warnings:
            self.stderr.write(line, self.style.WARNING)
        count = len(result.changes)
        changes = f"{count} change{'s' if count != 1 else ''}"
        if not result.changes:
            self.stdout.write(f"{path}: no changes")
        elif result.applied:
            self.stdout.write(self.style.SUCCESS(f"{path}: applied {changes}"))
        else:
            self.stdout.write(f"{path}: dry run, {changes} not applied")
