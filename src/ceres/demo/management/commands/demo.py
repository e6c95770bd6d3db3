"""`ceres demo --accounts N --seed S`: the demo playbook (if none is applied yet), demo logins,
and N realistic accounts with contacts, reproducible from the seed."""

from __future__ import annotations

import random
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from rich.progress import Progress

from ceres.accounts.imports import import_accounts
from ceres.accounts.models import Product
from ceres.core.errors import CeresError
from ceres.demo.conversations import make_conversations
from ceres.demo.generator import account_rows
from ceres.demo.issues import make_issues
from ceres.demo.oncall import make_oncall_activity, make_oncall_override
from ceres.playbook import selectors as playbook_selectors
from ceres.playbook import services as playbook_services
from ceres.team.models import Person

DEMO_PASSWORD = "ceres-demo"  # noqa: S105 - the documented password of the invented demo people
CHUNK = 1000


class Command(BaseCommand):
    help = "Load the demo playbook and realistic demo accounts."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--accounts", type=int, default=200, help="how many accounts")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data")
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help="password set on the demo playbook's people (default: %(default)s)",
        )
        parser.add_argument(
            "--conversations", type=int, default=0, help="recent support conversations to add"
        )
        parser.add_argument(
            "--issues",
            action="store_true",
            help="add bug reports, feature requests and on-call activity (an override, alarms, "
            "handoff summaries, a retro)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["accounts"]
        if not 0 <= count <= 100_000:
            raise CommandError("--accounts: must be between 0 and 100000", returncode=2)
        conversations: int = options["conversations"]
        if not 0 <= conversations <= 100_000:
            raise CommandError("--conversations: must be between 0 and 100000", returncode=2)
        try:
            if not playbook_selectors.is_applied():
                result = playbook_services.apply_path(playbook_services.DEMO_PLAYBOOK)
                self.stdout.write(f"applied the demo playbook ({len(result.changes)} changes)")
            self._set_demo_passwords(options["password"])
            self._make_accounts(count, options["seed"], show=not options["no_progress"])
            if conversations:
                make_conversations(count=conversations, seed=options["seed"])
                self.stdout.write(f"created {conversations} demo conversations")
            if options["issues"]:
                made = make_issues(seed=options["seed"])
                self.stdout.write(f"created {made} demo issues")
                # The schedules come from the demo playbook's rotations; the demo adds a
                # replacement, which a playbook never holds.
                overrides = make_oncall_override()
                self.stdout.write(f"created {overrides} demo on-call override(s)")
                # What happens on call: alarms paged and answered, the handoff summaries and a
                # retro; the pages they wrote are marked never to be sent.
                oncall = make_oncall_activity()
                self.stdout.write(
                    f"created {oncall.integrations} demo alarm integrations, {oncall.alarms} "
                    f"alarms, {oncall.summaries} handoff summaries and {oncall.retros} retro "
                    f"({oncall.not_sent} outbox messages marked never to be sent)"
                )
        except CeresError as exc:
            raise CommandError(f"{exc.field}: {exc.message}", returncode=2) from exc

    def _set_demo_passwords(self, password: str) -> None:
        with transaction.atomic():
            for person in Person.objects.select_related("user"):
                if not person.user.has_usable_password():
                    person.user.set_password(password)
                    person.user.save(update_fields=["password"])

    def _make_accounts(self, count: int, seed: int, *, show: bool) -> None:
        if count == 0:
            return
        products = {p.key: p for p in Product.objects.all()}
        csms = list(Person.objects.filter(role__key="csm")) or list(Person.objects.all()[:3])
        rows = account_rows(
            count=count, seed=seed, products=products, csms=csms, today=timezone.localdate()
        )
        rng = random.Random(seed)

        def shuffle(ids: list[int]) -> list[int]:
            rng.shuffle(ids)
            return ids

        with Progress(disable=not show, transient=True) as progress:
            bar = progress.add_task("accounts", total=count)
            for start in range(0, count, CHUNK):
                chunk = rows[start : start + CHUNK]
                import_accounts(
                    actor=None,
                    rows=chunk,
                    codename_order=shuffle,
                    also_avoid=(r.legal_name for r in rows[start + CHUNK :]),
                )
                progress.advance(bar, len(chunk))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load
        self.stdout.write(f"created {count} demo accounts (seed {seed})")
