"""`ceres sla preview --playbook FILE`: the file's calendars and policies, applied inside a
transaction that is rolled back once the due times are computed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ceres.core.audit.models import AuditEntry
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.sla.models import BusinessCalendar, SlaPolicy
from tests.playbook.conftest import Write, line_of
from tests.playbook.test_sla_sections import HOUR, SLA, run

pytestmark = pytest.mark.django_db


def test_preview_with_a_playbook_applies_nothing(write: Write, demo_text: str) -> None:
    path = write(demo_text.replace("first_response: {within: 4h,", "first_response: {within: 2h,"))
    out, _ = run(
        "sla",
        "preview",
        "--policy",
        "job-application",
        "--received",
        "2026-05-22T15:00:00-05:00",
        "--playbook",
        str(path),
    )
    assert out.splitlines() == ["first_response 2026-05-22T17:00:00-05:00"]
    assert not SlaPolicy.objects.exists()
    assert not BusinessCalendar.objects.exists()
    assert not PlaybookApplication.objects.exists()
    assert not AuditEntry.objects.exists()


def test_preview_with_a_playbook_previews_the_file_not_the_database(
    write: Write, demo_text: str
) -> None:
    apply_path(DEMO_PLAYBOOK)
    path = write(
        demo_text.replace("{within: 24h, clock: elapsed}", "{within: 12h, clock: elapsed}")
    )
    args = ["sla", "preview", "--policy", "community-slack", "--received", "2026-11-24T10:00:00Z"]
    assert run(*args)[0].splitlines() == ["first_response 2026-11-25T10:00:00+00:00"]
    assert run(*args, "--playbook", str(path))[0].splitlines() == [
        "first_response 2026-11-24T22:00:00+00:00"
    ]
    within = SlaPolicy.objects.get(key="community-slack").targets["first_response"][0]
    assert within["within_seconds"] == 24 * HOUR


def test_preview_with_a_bad_playbook_names_the_line(write: Write, demo_text: str) -> None:
    text = demo_text.replace(
        "timezone: America/Chicago\n    hours:", "timezone: Chicago\n    hours:"
    )
    path = write(text)
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "sla",
            "preview",
            "--policy",
            "premium",
            "--received",
            "2026-11-28T22:10:00-06:00",
            "--playbook",
            str(path),
            stdout=StringIO(),
            stderr=err,
        )
    assert caught.value.returncode == 2
    assert str(caught.value) == f"{path}: not valid, 1 problem"
    assert err.getvalue().splitlines() == [
        f"{path}:{line_of(text, 'timezone: Chicago')}: calendars.support.timezone: unknown IANA "
        "time zone 'Chicago', e.g. America/Chicago or Europe/Berlin"
    ]


def test_preview_with_a_playbook_lists_its_policies(write: Write) -> None:
    path = write(SLA)
    with pytest.raises(CommandError) as caught:
        run("sla", "preview", "--policy", "gold", "--received", "2026-11-24T10:00:00Z",
            "--playbook", str(path))  # fmt: skip
    assert str(caught.value) == "--policy: unknown policy 'gold'; known policies: premium, default"
    assert not SlaPolicy.objects.exists()
