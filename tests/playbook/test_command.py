"""`ceres apply` on the command line: the diff on stdout, problems on stderr, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ceres.playbook import selectors
from ceres.team.models import Role
from tests.playbook.conftest import MINIMAL, Write, line_of

CERES = Path(sys.executable).with_name("ceres")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apply", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_dry_run_then_apply_then_nothing_to_do(write: Write) -> None:
    path = write(MINIMAL)
    out, _ = run(str(path), "--dry-run")
    assert out.splitlines() == [
        "+ role cse: Customer Support Engineer",
        "+ role engineer: Engineer",
        "+ person lena@example.com: Lena Park (cse)",
        "+ person sam@example.com: Sam Engel (engineer)",
        "+ product premium: Fleet Premium",
        "= 0 unchanged",
        f"{path}: dry run, 5 changes not applied",
    ]
    assert not Role.objects.exists()
    out, _ = run(str(path))
    assert out.splitlines()[-1] == f"{path}: applied 5 changes"
    out, _ = run(str(path))
    assert out.splitlines() == ["= 5 unchanged", f"{path}: no changes"]


@pytest.mark.django_db
def test_problems_go_to_stderr_with_exit_status_2(write: Write) -> None:
    text = MINIMAL.replace("role: engineer,", "role: enginer,")
    path = write(text)
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("apply", str(path), stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 2
    assert str(caught.value) == f"{path}: not applied, 1 problem"
    assert err.getvalue() == (
        f"{path}:{line_of(text, 'enginer')}: people[1].role: unknown role 'enginer'; "
        "known roles: cse, engineer\n"
    )
    assert not selectors.is_applied()


def _database_url() -> str:
    """The test database, for a `ceres` started as a separate process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    return f"postgresql://{credentials}{host}:{db.get('PORT') or 5432}/{quote(db['NAME'])}"


@pytest.mark.slow
@pytest.mark.usefixtures("transactional_db")
def test_the_ceres_command_exits_2_and_names_the_line(write: Write, tmp_path: Path) -> None:
    text = MINIMAL.replace("role: engineer,", "role: enginer,")
    path = write(text)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CERES_VAR_DIR": str(tmp_path / "var"),
        "CERES_SECRET_KEY": "test-only-secret-key",
    }
    done = subprocess.run(
        [str(CERES), "apply", str(path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{path}:{line_of(text, 'enginer')}: people[1].role: unknown role 'enginer'; "
        "known roles: cse, engineer",
        f"CommandError: {path}: not applied, 1 problem",
    ]
    assert not Role.objects.exists()

    fixed = write(MINIMAL)
    done = subprocess.run(
        [str(CERES), "apply", str(fixed)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{fixed}: applied 5 changes"
    assert set(Role.objects.values_list("key", flat=True)) == {"cse", "engineer"}
