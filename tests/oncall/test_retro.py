"""The weekly on-call retro: three questions written from the page with the week's alarms
beside them, edited, searched by a word in any answer; bad input answered on the field with
nothing written; and its permissions."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.test import Client

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.oncall import alarms
from ceres.oncall import retro as retros
from ceres.oncall.models import Alarm, AlarmIntegration, OnCallSchedule, Retro
from ceres.team import services as team_services
from ceres.team.models import Person
from tests.oncall.conftest import chicago

pytestmark = pytest.mark.django_db

NOW = chicago(2026, 11, 11, 12)  # Wednesday 11 November 2026
LAST_WEEK = datetime.date(2026, 11, 2)
NEW = "/oncall/retros/new/"


@pytest.fixture
def ada(
    client: Client, vp: Person, first_responder: OnCallSchedule, clock: Callable[..., None]
) -> Client:
    """The VP (every permission), in Chicago, logged in, on Wednesday 11 November 2026."""
    vp.timezone = "America/Chicago"
    vp.save(update_fields=["timezone"])
    clock(NOW)
    client.force_login(vp.user)
    return client


def alarm(source: AlarmIntegration, title: str, seen: datetime.datetime) -> Alarm:
    return Alarm.objects.create(
        integration=source,
        dedup_key=title,
        title=title,
        severity="critical",
        first_seen_at=seen,
        last_seen_at=seen,
    )


def answers(**changes: str) -> dict[str, str]:
    values = {
        "schedule": "infrastructure-oncall",
        "week_start": LAST_WEEK.isoformat(),
        "went_well": "The checkout outage was acknowledged in four minutes.",
        "could_be_better": "The disk alarm paged at night for a non-urgent volume.",
        "remember": "Renew the TLS certificate before Friday; the runbook is in the wiki.",
    }
    values.update(changes)
    return values


def retro(schedule: OnCallSchedule, week: datetime.date, **texts: str) -> Retro:
    return retros.save_retro(
        actor=None,
        schedule=schedule,
        week_start=week,
        went_well=texts.get("went_well", ""),
        could_be_better=texts.get("could_be_better", ""),
        remember=texts.get("remember", "Nothing special."),
        person=None,
    )


def test_write_a_retro_with_the_weeks_alarms_beside_it(
    ada: Client, vp: Person, first_responder: OnCallSchedule
) -> None:
    source = alarms.create_integration(
        actor=None, name="Prometheus", kind="generic", schedule=first_responder
    )[0]
    alarm(source, "checkout.example.com is down", chicago(2026, 11, 3, 10))
    alarm(source, "Disk 85% on db-1", chicago(2026, 11, 8, 23, 59))
    alarm(source, "Next week's alarm", chicago(2026, 11, 9, 0, 0))
    alarm(source, "The week before", chicago(2026, 11, 1, 23, 59))

    html = ada.get(NEW).content.decode()  # defaults to last week, the first schedule
    assert 'value="2026-11-02"' in html
    assert "What went well?" in html
    assert "What could have gone better?" in html
    assert "What should we remember next time?" in html
    assert "checkout.example.com is down" in html
    assert "Disk 85% on db-1" in html
    assert "Next week&#x27;s alarm" not in html
    assert "The week before" not in html
    fragment = ada.get(
        "/oncall/retros/alarms/", {"schedule": "infrastructure-oncall", "week_start": "2026-11-09"}
    ).content.decode()
    assert "Next week&#x27;s alarm" in fragment
    assert "checkout" not in fragment

    r = ada.post(NEW, answers())
    saved = Retro.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/oncall/retros/{saved.pk}/"
    assert (saved.schedule, saved.week_start, saved.written_by) == (
        first_responder,
        LAST_WEEK,
        vp,
    )
    assert saved.remember.startswith("Renew the TLS certificate")
    assert AuditEntry.objects.filter(action="oncall.retro.create", actor_label="ada").exists()
    html = ada.get(f"/oncall/retros/{saved.pk}/").content.decode()
    assert "checkout.example.com is down" in html
    assert "Renew the TLS certificate" in html


def test_edit_a_retro(ada: Client, first_responder: OnCallSchedule) -> None:
    saved = retro(first_responder, LAST_WEEK, went_well="Quiet.")
    page = f"/oncall/retros/{saved.pk}/"
    # The schedule and the week are the retro's: posted values for them are ignored.
    changed = answers(went_well="Quiet, and the runbook worked.", week_start="2026-10-26")
    assert ada.post(page, changed).status_code == 302
    saved.refresh_from_db()
    assert saved.went_well == "Quiet, and the runbook worked."
    assert saved.week_start == LAST_WEEK
    assert Retro.objects.count() == 1
    assert AuditEntry.objects.filter(action="oncall.retro.update").count() == 1


def test_a_second_retro_for_the_same_week_is_a_conflict(
    ada: Client, first_responder: OnCallSchedule
) -> None:
    first = retro(first_responder, LAST_WEEK, went_well="First.")
    r = ada.post(NEW, answers(went_well="Second."))
    assert r.status_code == 409
    assert "already has a retro" in r.content.decode()
    assert f'data-existing="{first.pk}"' in r.content.decode()  # with a link to it
    assert Retro.objects.get().went_well == "First."
    with pytest.raises(Conflict):
        retros.save_retro(
            actor=None,
            schedule=first_responder,
            week_start=LAST_WEEK,
            went_well="Third.",
            could_be_better="",
            remember="",
            person=None,
            expect_new=True,
        )


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        ({"week_start": "2026-11-03"}, 422, "week_start", "is not a Monday"),
        ({"week_start": "2026-11-16"}, 422, "week_start", "is in the future"),
        ({"week_start": "last week"}, 400, "week_start", "Enter a valid date"),
        ({"week_start": ""}, 400, "week_start", "This field is required"),
        ({"schedule": "nope"}, 400, "schedule", "Select a valid choice"),
        (
            {"went_well": " ", "could_be_better": "", "remember": "\n"},
            422,
            "went_well",
            "answer at least one of the three questions",
        ),
        ({"remember": "a\x00b"}, 400, "remember", "Null characters are not allowed"),
        ({"could_be_better": "x" * 20_001}, 422, "could_be_better", "at most 20,000 characters"),
    ],
)
def test_bad_input_is_answered_on_the_field_and_nothing_is_written(
    ada: Client, changes: dict[str, str], status: int, field: str, message: str
) -> None:
    r = ada.post(NEW, answers(**changes))
    assert r.status_code == status
    block = r.content.decode().split(f'data-field="{field}"', 1)[1].split("</div>", 1)[0]
    assert "field-error" in block
    assert message in block
    assert not Retro.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="oncall.retro").exists()


def test_bad_input_when_editing_leaves_the_retro_as_it_was(
    ada: Client, first_responder: OnCallSchedule
) -> None:
    saved = retro(first_responder, LAST_WEEK, went_well="Quiet.")
    page = f"/oncall/retros/{saved.pk}/"
    blank = ada.post(page, answers(went_well="", could_be_better="", remember=""))
    assert blank.status_code == 422
    assert ada.post(page, answers(went_well="x" * 20_001)).status_code == 422
    assert ada.post(page, answers(went_well="a\x00b")).status_code == 400
    saved.refresh_from_db()
    assert saved.went_well == "Quiet."
    assert not AuditEntry.objects.filter(action="oncall.retro.update").exists()


@pytest.mark.parametrize(
    "week", ["2026-11-03", "2026-11-16", "next monday", datetime.datetime(2026, 11, 2, 9)]
)
def test_the_service_refuses_a_week_that_is_not_a_past_monday(
    ada: Client, first_responder: OnCallSchedule, week: datetime.date | str
) -> None:
    with pytest.raises(Invalid) as refused:
        retros.save_retro(
            actor=None,
            schedule=first_responder,
            week_start=week,
            went_well="Quiet.",
            could_be_better="",
            remember="",
            person=None,
        )
    assert refused.value.field == "week_start"
    assert not Retro.objects.exists()


def test_search_finds_a_word_in_any_answer(ada: Client, first_responder: OnCallSchedule) -> None:
    other = OnCallSchedule.objects.create(key="developer-on-call", name="Developer on-call")
    a = retro(first_responder, datetime.date(2026, 10, 19), went_well="The RUNBOOK helped.")
    b = retro(first_responder, datetime.date(2026, 10, 26), could_be_better="Runbook was stale.")
    c = retro(first_responder, LAST_WEEK, remember="Update the runbook for TLS renewals.")
    d = retro(other, LAST_WEEK, remember="Nothing about books.")
    assert list(retros.search_retros("runbook")) == [c, b, a]
    assert list(retros.search_retros("runbook tls")) == [c]
    assert list(retros.search_retros("")) == [d, c, b, a]  # newest week, then by schedule
    assert list(retros.search_retros("books", schedule=other)) == [d]
    assert list(retros.search_retros("runbook", schedule=other)) == []

    html = ada.get("/oncall/retros/", {"q": "stale"}).content.decode()
    assert f'data-retro="{b.pk}"' in html
    assert f'data-retro="{a.pk}"' not in html
    html = ada.get("/oncall/retros/", {"schedule": "developer-on-call"}).content.decode()
    assert f'data-retro="{d.pk}"' in html
    assert f'data-retro="{c.pk}"' not in html
    assert "No retro mentions" in ada.get("/oncall/retros/", {"q": "zebra"}).content.decode()
    too_long = ada.get("/oncall/retros/", {"q": "x" * 201})
    assert too_long.status_code == 422
    assert ada.get("/oncall/retros/", {"schedule": "nope"}).status_code == 422


def test_the_list_is_paginated(ada: Client, first_responder: OnCallSchedule) -> None:
    Retro.objects.bulk_create(
        Retro(
            schedule=first_responder,
            week_start=LAST_WEEK - datetime.timedelta(weeks=n),
            went_well=f"Week {n}",
        )
        for n in range(30)
    )
    html = ada.get("/oncall/retros/").content.decode()
    assert html.count("data-retro=") == 25
    assert "Page 1 of 2" in html
    assert (
        html.count("data-retro=")
        + ada.get("/oncall/retros/", {"page": "2"}).content.decode().count("data-retro=")
        == 30
    )


def test_permissions(
    client: Client,
    engineer: Person,
    make_person: Callable[..., Person],
    first_responder: OnCallSchedule,
    clock: Callable[..., None],
) -> None:
    clock(NOW)
    saved = retro(first_responder, LAST_WEEK, went_well="Quiet.")
    page = f"/oncall/retros/{saved.pk}/"
    client.force_login(engineer.user)
    for url in ("/oncall/retros/", NEW, page):
        assert client.get(url).status_code == 403
    assert client.post(NEW, answers(week_start="2026-10-26")).status_code == 403
    assert client.post(page, answers(went_well="Mine")).status_code == 403
    team_services.save_role(
        actor=None, key="watcher", name="Watcher", permission_names=["oncall.view_retro"]
    )
    client.force_login(make_person("watcher", username="wanda").user)
    assert client.get("/oncall/retros/").status_code == 200
    html = client.get(page).content.decode()
    assert "Quiet." in html
    assert "<textarea" not in html  # read-only without oncall.change_retro
    assert "New retro" not in client.get("/oncall/retros/").content.decode()
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, answers(week_start="2026-10-26")).status_code == 403
    assert client.post(page, answers(went_well="Mine")).status_code == 403
    saved.refresh_from_db()
    assert saved.went_well == "Quiet."
    assert Retro.objects.count() == 1
