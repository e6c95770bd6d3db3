"""`ceres token create USERNAME [--name NAME]` prints a new personal API token (shown once);
`ceres token list USERNAME`; `ceres token revoke USERNAME TOKEN_ID`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from ceres.core.errors import CeresError
from ceres.team import selectors, services


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="cli", help="what the token is for")
        listing = sub.add_parser("list", help="list a user's tokens (never the secrets)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("username")
        revoke.add_argument("token_id", type=int)

    def _user(self, username: str) -> User:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user {username!r}", returncode=2)
        if not user.is_active:
            raise CommandError(f"username: {username!r} is not active", returncode=2)
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["username"])
        try:
            if options["action"] == "create":
                row, token = services.create_api_token(actor=None, user=user, name=options["name"])
                self.stderr.write(
                    f"token {row.prefix} for {user.get_username()}; it is shown only once:"
                )
                self.stdout.write(token)
            elif options["action"] == "list":
                for row in selectors.tokens_of(user.pk):
                    state = "revoked" if row.revoked_at else "active"
                    self.stdout.write(f"{row.pk}\t{row.prefix}\t{row.name}\t{state}")
            else:
                services.revoke_api_token(actor=None, user=user, token_id=options["token_id"])
                self.stdout.write(f"revoked token {options['token_id']}")
        except CeresError as exc:
            raise CommandError(f"{exc.field}: {exc.message}", returncode=2) from exc
