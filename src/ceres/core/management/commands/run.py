"""`ceres run`: what `make run` calls. Migrates, loads the demo into an empty database, starts
the web app (gunicorn) and the background worker, and prints where to open Ceres and how to
log in. Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Set up the database, load the demo when empty, start the web app and the worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-demo", action="store_true", help="never load demo data")
        parser.add_argument("--demo-accounts", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["port"] < 65536:
            raise CommandError("--port: must be between 1 and 65535", returncode=2)
        call_command("migrate", verbosity=0, interactive=False)
        demo_loaded = False
        account_model = apps.get_model("accounts", "Account")
        person_model = apps.get_model("team", "Person")
        if not options["no_demo"] and not person_model.objects.exists():
            self.stdout.write("empty database: loading the demo playbook and demo accounts…")
            call_command(
                "demo",
                accounts=options["demo_accounts"],
                conversations=80,
                issues=True,
                seed=1,
                no_progress=True,
            )
            demo_loaded = True
        url = f"http://{options['host']}:{options['port']}/"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ceres.settings"}
        bin_dir = os.path.dirname(sys.executable)
        web = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                os.path.join(bin_dir, "gunicorn"),
                "ceres.wsgi:application",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["web_workers"]),
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ],
            env=env,
        )
        # The worker logs every task at INFO; keep the terminal for the banner and for problems
        # unless the operator asked for more (CERES_LOG_LEVEL).
        worker_env = {"CERES_LOG_LEVEL": "WARNING", **env}
        worker = subprocess.Popen([sys.executable, "-m", "ceres.cli", "worker"], env=worker_env)
        self._banner(url, demo_loaded, account_model.objects.count())
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        finally:
            for proc in (web, worker):
                if proc.poll() is None:
                    proc.terminate()
            for proc in (web, worker):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if not stopping:
            raise CommandError("the web app or the worker stopped unexpectedly", returncode=1)

    def _banner(self, url: str, demo_loaded: bool, accounts: int) -> None:
        person_model = apps.get_model("team", "Person")
        lines = [
            "",
            f"  Ceres is running at {url}",
            f"  database: {settings.DATABASES['default']['NAME']} ({accounts} accounts)",
        ]
        demo_users = person_model.objects.filter(user__username__in=["ada", "lena", "sam"])
        if demo_users.exists():
            lines.append("  log in (demo people, password 'ceres-demo'):")
            for person in demo_users.select_related("role", "user").order_by("user__username"):
                sees = (
                    "sees real names"
                    if person.user.has_perm("accounts.view_confidential")
                    else "codenames only"
                )
                lines.append(f"    {person.user.username:6} {person.role.name} ({sees})")
        else:
            lines.append("  log in with an account made by `ceres createsuperuser`")
        if demo_loaded:
            lines.append("  (demo data was loaded because the database was empty)")
        lines.append(f"  API: {url}api/docs   stop: Ctrl-C")
        self.stdout.write("\n".join(lines) + "\n")
