"""The handbook's "Communicate feedback on prioritized customer requests" with the built-in
tracker: open, prioritize, ask for feedback, the outcome (met / missing something), the CSM's
reminders, the lists, and every form and endpoint with bad input and without permission."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ceres.accounts import services as account_services
from ceres.accounts.models import Account, Product
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import ConfidentialLeak, Conflict, Invalid, NotFound
from ceres.core.outbox.models import OutboxMessage
from ceres.core.periodic.registry import load_jobs
from ceres.sla import services as sla_services
from ceres.team import services as team_services
from ceres.team.models import Person, Role
from ceres.tracker import feature_requests as fr
from ceres.tracker import feature_selectors, selectors, services
from ceres.tracker.models import FeatureRequest, IssueComment, TrackerIssue, TrackerRepository
from ceres.tracker.workflow import FeatureStage
from tests.sla.conftest import SUPPORT

pytestmark = pytest.mark.django_db

TRACKER_PERMS = [
    "tracker.view_trackerissue",
    "tracker.add_trackerissue",
    "tracker.change_trackerissue",
]
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
GONG = "https://app.gong.io/call?id=123&highlights=456"
UTC = datetime.UTC


@pytest.fixture
def more_roles(roles: dict[str, Role]) -> dict[str, Role]:
    extra = {
        "csm": ("Customer Success Manager", TRACKER_PERMS),
        "product-designer": ("Product Designer", TRACKER_PERMS),
        "evangelist": ("Technical Evangelist", ["tracker.view_trackerissue"]),
    }
    return roles | {
        key: team_services.save_role(actor=None, key=key, name=name, permission_names=perms)
        for key, (name, perms) in extra.items()
    }


@pytest.fixture
def pd(make_person: Callable[..., Person], more_roles: dict[str, Role]) -> Person:
    return make_person(
        "product-designer",
        name="Iris Novak",
        email="iris@example.com",
        github_login="irisnovak",
        username="iris",
    )


@pytest.fixture
def csm(make_person: Callable[..., Person], more_roles: dict[str, Role]) -> Person:
    return make_person(
        "csm",
        name="Mara Quinn",
        email="mara@example.com",
        github_login="mquinn",
        slack_user_id="U0MARA",
        username="mara",
    )


@pytest.fixture
def globex(products: dict[str, Product], cse: Person) -> Account:
    return account_services.create_account(
        actor=cse.user, legal_name="Globex Corporation", codename="Apophis", product="premium"
    )


def open_request(
    cse: Person, *accounts: Account, title: str = "Export hosts to CSV"
) -> TrackerIssue:
    request = fr.open_feature_request(
        actor=cse.user,
        title=title,
        body="The team wants a CSV of hosts with their labels.",
        accounts=list(accounts),
        created_by=cse,
    )
    return request.issue


def fresh(issue: TrackerIssue) -> tuple[TrackerIssue, FeatureRequest]:
    issue = selectors.get_issue(issue.pk)
    return issue, FeatureRequest.objects.get(pk=issue.pk)


def comments(issue: TrackerIssue) -> list[str]:
    return list(IssueComment.objects.filter(issue=issue).values_list("body", flat=True))


def released(cse: Person, pd: Person, csm: Person, *accounts: Account) -> TrackerIssue:
    issue = open_request(cse, *accounts)
    fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    return issue


# --- the handbook flow ---------------------------------------------------------------------


def test_open_a_request_for_the_accounts_that_asked(
    acme: Account, globex: Account, cse: Person
) -> None:
    issue = open_request(cse, acme, globex, acme)
    issue, request = fresh(issue)
    assert issue.kind == TrackerIssue.Kind.FEATURE_REQUEST
    assert issue.repository.visibility == TrackerRepository.Visibility.PUBLIC
    assert issue.number == 1
    assert issue.state == TrackerIssue.State.OPEN
    assert selectors.labels_of(issue) == ["customer-apophis", "customer-kamooalewa"]
    assert fr.stage_of(request, issue) == FeatureStage.REQUESTED
    assert AuditEntry.objects.filter(action="tracker.feature_request.open").count() == 1
    assert list(selectors.feature_requests_of(acme)) == [issue]


def test_prioritize_then_ask_for_feedback_assigns_the_csm_with_the_label(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = open_request(cse, acme)
    fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    issue, request = fresh(issue)
    assert "~customer request" in selectors.labels_of(issue)
    assert request.product_designer == pd
    assert request.prioritized_at is not None
    assert fr.stage_of(request, issue) == FeatureStage.PRIORITIZED

    before = timezone.now()
    fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    issue, request = fresh(issue)
    assert selectors.assignees_of(issue) == ["mquinn"]
    assert "#g-unicorns" in selectors.labels_of(issue)
    assert request.csm == csm
    assert request.released_at is not None
    assert request.released_at >= before
    assert request.remind_at == fr.remind_at_after(request.released_at)
    assert fr.stage_of(request, issue) == FeatureStage.WAITING
    (asked,) = comments(issue)
    assert asked.startswith("@mquinn:")
    assert "`customer-kamooalewa`" in asked
    dm = OutboxMessage.objects.get(channel="slack")
    assert dm.payload["args"]["user"] == "U0MARA"
    assert "Kamo`oalewa" in dm.payload["args"]["text"]
    assert "Acme" not in dm.payload["args"]["text"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"tracker.feature_request.prioritize", "tracker.feature_request.ask_for_feedback"} <= (
        actions
    )


def test_it_meets_the_need_the_pd_is_mentioned_and_the_issue_closed(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = released(cse, pd, csm, acme)
    fr.record_outcome(actor=csm.user, issue=issue, outcome="met", note="They love it.")
    issue, request = fresh(issue)
    assert issue.state == TrackerIssue.State.CLOSED
    last = comments(issue)[-1]
    assert last.startswith("@irisnovak:")
    assert "meet the needs" in last
    assert "They love it." in last
    last = IssueComment.objects.filter(issue=issue).last()
    assert last is not None
    assert last.author == csm
    assert request.outcome == "met"
    assert request.outcome_at is not None
    assert request.remind_at is None
    assert selectors.assignees_of(issue) == ["mquinn"]
    assert fr.stage_of(request, issue) == FeatureStage.MET


def test_it_misses_something_feedback_is_required_then_the_csm_unassigns(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = released(cse, pd, csm, acme)
    count = len(comments(issue))
    for link, message in [("", "required"), ("http://gong.io/x", "https"), ("javascript:x", "")]:
        with pytest.raises(Invalid) as caught:
            fr.record_outcome(actor=csm.user, issue=issue, outcome="not_met", evidence_link=link)
        assert caught.value.field == "evidence_link"
        assert message in caught.value.message
    issue, request = fresh(issue)
    assert len(comments(issue)) == count
    assert request.outcome == ""
    assert selectors.assignees_of(issue) == ["mquinn"]
    assert request.remind_at is not None

    fr.record_outcome(
        actor=csm.user,
        issue=issue,
        outcome="not_met",
        evidence_link=GONG,
        note="They need the labels as columns.",
    )
    issue, request = fresh(issue)
    last = comments(issue)[-1]
    assert last.startswith("@irisnovak:")
    assert "missing something" in last
    assert f"Feedback (Gong snippet): {GONG}" in last
    assert "labels as columns" in last
    assert selectors.assignees_of(issue) == []
    assert issue.state == TrackerIssue.State.OPEN
    assert request.outcome == "not_met"
    assert request.evidence_link == GONG
    assert request.remind_at is None
    assert fr.stage_of(request, issue) == FeatureStage.NOT_MET

    # The next release goes back to the customer: a new round.
    fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    issue, request = fresh(issue)
    assert fr.stage_of(request, issue) == FeatureStage.WAITING
    assert request.outcome == ""
    assert request.evidence_link == ""
    assert request.reminders_sent == 0
    assert selectors.assignees_of(issue) == ["mquinn"]


def test_evidence_is_described_by_where_it_lives() -> None:
    assert fr.evidence_kind("https://acme.slack.com/archives/C1/p1") == "Slack thread"
    assert fr.evidence_kind(GONG) == "Gong snippet"
    assert fr.evidence_kind("https://docs.google.com/document/d/1") == "meeting notes"


def test_moves_that_do_not_apply_are_refused_naming_the_stage(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = open_request(cse, acme)
    with pytest.raises(Conflict) as caught:
        fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    assert caught.value.field == "stage"
    assert "requested" in caught.value.message
    with pytest.raises(Conflict):
        fr.record_outcome(actor=csm.user, issue=issue, outcome="met")
    fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    with pytest.raises(Conflict):
        fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    with pytest.raises(Conflict) as caught:
        fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)  # nothing would change
    assert caught.value.field == "csm"
    fr.record_outcome(actor=csm.user, issue=issue, outcome="met")
    for move in (
        lambda: fr.record_outcome(actor=csm.user, issue=issue, outcome="met"),
        lambda: fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm),
        lambda: fr.link_account(actor=cse.user, issue=issue, account=acme),
    ):
        with pytest.raises(Conflict):
            move()


def test_bad_people_and_outcomes_are_refused_by_field(
    acme: Account, cse: Person, pd: Person, csm: Person, engineer: Person
) -> None:
    issue = open_request(cse, acme)
    with pytest.raises(Invalid) as caught:
        fr.prioritize(actor=pd.user, issue=issue, product_designer=engineer)  # no GitHub login
    assert caught.value.field == "product_designer"
    fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    with pytest.raises(Invalid) as caught:
        fr.ask_for_feedback(actor=pd.user, issue=issue, csm=engineer)
    assert caught.value.field == "csm"
    csm.is_active = False
    csm.save()
    with pytest.raises(Invalid) as caught:
        fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    assert caught.value.field == "csm"
    with pytest.raises(Invalid) as caught:
        fr.record_outcome(actor=csm.user, issue=issue, outcome="maybe")
    assert caught.value.field == "outcome"
    with pytest.raises(Invalid) as caught:
        fr.open_feature_request(actor=cse.user, title="x", body="", accounts=[], created_by=cse)
    assert caught.value.field == "accounts"
    bug = services.open_issue(
        actor=None, repository=selectors.repository("public"), title="A bug", body=""
    )
    with pytest.raises(NotFound):
        fr.prioritize(actor=pd.user, issue=bug, product_designer=pd)
    assert selectors.assignees_of(selectors.get_issue(issue.pk)) == []


def test_the_public_texts_pass_the_firewall(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    with pytest.raises(ConfidentialLeak) as caught:
        open_request(cse, acme, title="Acme Robotics wants a CSV export")
    assert caught.value.field == "title"
    assert not TrackerIssue.objects.exists()
    assert not FeatureRequest.objects.exists()
    issue = released(cse, pd, csm, acme)
    count = len(comments(issue))
    with pytest.raises(ConfidentialLeak) as caught:
        fr.record_outcome(
            actor=csm.user,
            issue=issue,
            outcome="not_met",
            evidence_link=GONG,
            note="Acme Robotics says no.",
        )
    assert caught.value.field == "note"
    issue, request = fresh(issue)
    assert len(comments(issue)) == count
    assert request.outcome == ""
    assert selectors.assignees_of(issue) == ["mquinn"]


def test_another_account_is_linked_once(acme: Account, globex: Account, cse: Person) -> None:
    issue = open_request(cse, acme)
    assert fr.link_account(actor=cse.user, issue=issue, account=globex) is True
    assert fr.link_account(actor=cse.user, issue=issue, account=globex) is False
    assert selectors.labels_of(selectors.get_issue(issue.pk)) == [
        "customer-apophis",
        "customer-kamooalewa",
    ]


def test_asking_again_while_waiting_hands_the_request_to_another_csm(
    acme: Account, cse: Person, pd: Person, csm: Person, make_person: Callable[..., Person]
) -> None:
    other = make_person("csm", name="Noor Haddad", github_login="nhaddad")
    issue = released(cse, pd, csm, acme)
    first = FeatureRequest.objects.get(pk=issue.pk).released_at
    fr.ask_for_feedback(actor=pd.user, issue=issue, csm=other)
    issue, request = fresh(issue)
    assert selectors.assignees_of(issue) == ["nhaddad"]
    assert request.csm == other
    assert request.released_at == first
    assert comments(issue)[-1].startswith("@nhaddad:")


# --- reminders -----------------------------------------------------------------------------


def test_the_reminder_comes_three_business_days_later() -> None:
    monday = datetime.datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    # No calendar set up: Monday to Friday in UTC.
    assert fr.remind_at_after(monday) == datetime.datetime(2025, 12, 4, 0, 0, tzinfo=UTC)
    friday_evening = datetime.datetime(2025, 12, 5, 23, 0, tzinfo=UTC)
    assert fr.remind_at_after(friday_evening) == datetime.datetime(2025, 12, 10, tzinfo=UTC)
    # The support calendar (Chicago, 9 to 5, US holidays): Thanksgiving does not count.
    sla_services.save_calendar(actor=None, key="support", spec=SUPPORT)
    tuesday = datetime.datetime(2025, 11, 25, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
    assert fr.remind_at_after(tuesday) == datetime.datetime(2025, 12, 1, 15, 0, tzinfo=UTC)


def test_the_csm_is_reminded_once_per_due_time_until_the_outcome(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = released(cse, pd, csm, acme)
    due = FeatureRequest.objects.get(pk=issue.pk).remind_at
    assert due is not None

    def reminders() -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(idempotency_key__contains="-reminder-"))

    assert fr.send_reminders(now=due - datetime.timedelta(seconds=1)) == 0
    assert fr.send_reminders(now=due) == 1
    assert fr.send_reminders(now=due) == 0  # the same due time: nothing more
    (first,) = reminders()
    assert first.idempotency_key == f"tracker-feature-{issue.pk}-reminder-1"
    assert first.channel == "slack"
    assert first.payload["args"]["user"] == "U0MARA"
    assert "reminder 1" in first.payload["args"]["text"]
    assert "Acme" not in first.payload["args"]["text"]
    request = FeatureRequest.objects.get(pk=issue.pk)
    assert request.reminders_sent == 1
    assert request.remind_at == fr.remind_at_after(due)

    # Without a Slack user, by e-mail.
    csm.slack_user_id = ""
    csm.save()
    next_due = request.remind_at
    assert next_due is not None
    assert fr.send_reminders(now=next_due) == 1
    second = OutboxMessage.objects.get(idempotency_key=f"tracker-feature-{issue.pk}-reminder-2")
    assert second.channel == "email"
    assert second.payload["to"] == ["mara@example.com"]
    (row,) = feature_selectors.waiting_rows(csm=csm, now=next_due)
    assert row.overdue

    fr.record_outcome(actor=csm.user, issue=issue, outcome="met")
    far = next_due + datetime.timedelta(days=60)
    assert fr.send_reminders(now=far) == 0
    assert len(reminders()) == 2
    assert AuditEntry.objects.filter(action="tracker.feature_request.reminder").count() == 2


def test_a_request_closed_by_hand_loses_its_timer(
    acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = released(cse, pd, csm, acme)
    services.set_state(actor=None, issue=issue, state=TrackerIssue.State.CLOSED)
    assert fr.send_reminders(now=timezone.now() + datetime.timedelta(days=30)) == 0
    assert FeatureRequest.objects.get(pk=issue.pk).remind_at is None


def test_the_reminder_sweep_is_a_periodic_job() -> None:
    assert "tracker.feature-request-reminders" in {job.name for job in load_jobs()}


# --- selectors -----------------------------------------------------------------------------


def test_waiting_on_a_csm_per_csm_and_overall(
    acme: Account,
    globex: Account,
    cse: Person,
    pd: Person,
    csm: Person,
    make_person: Callable[..., Person],
) -> None:
    other = make_person("csm", name="Noor Haddad", github_login="nhaddad")
    one = released(cse, pd, csm, acme)
    two = released(cse, pd, other, globex)
    drafting = open_request(cse, acme, title="Dark mode")
    fr.prioritize(actor=pd.user, issue=drafting, product_designer=pd)
    open_request(cse, globex, title="SSO")
    now = timezone.now()
    assert [r.issue for r in feature_selectors.waiting_rows(now=now)] == [one, two]
    (mine,) = feature_selectors.waiting_rows(csm=csm, now=now)
    assert mine.issue == one
    assert mine.codenames == ["Kamo`oalewa"]
    assert not mine.overdue
    assert mine.days_waiting == 0
    late = now + datetime.timedelta(days=10)
    assert all(row.overdue for row in feature_selectors.waiting_rows(now=late))
    assert [r.issue for r in feature_selectors.rows(feature_selectors.prioritized())] == [drafting]
    summary = feature_selectors.waiting_summary(now=late)
    assert {(p.pk, waiting, overdue) for p, waiting, overdue in summary} == {
        (csm.pk, 1, 1),
        (other.pk, 1, 1),
    }
    assert len(feature_selectors.rows(feature_selectors.all_requests())) == 4


# --- the pages -----------------------------------------------------------------------------


def as_user(client: Client, person: Person) -> Client:
    client.force_login(person.user)
    return client


def url(issue: TrackerIssue, move: str = "") -> str:
    return f"/tracker/{issue.pk}/feature/" + (f"{move}/" if move else "")


def error_on(html: str, field: str) -> bool:
    return f'has-error" data-field="{field}"' in html


def test_the_list_shows_codenames_by_tab_with_a_fixed_number_of_queries(
    client: Client,
    acme: Account,
    globex: Account,
    cse: Person,
    pd: Person,
    csm: Person,
    django_assert_max_num_queries: Any,
) -> None:
    released(cse, pd, csm, acme)
    as_user(client, cse)
    html = client.get("/tracker/requests/").content.decode()
    assert "Kamo`oalewa" in html
    assert "Acme" not in html
    assert "Mara Quinn" in html
    assert "0 days" in html
    assert 'data-role="waiting-summary"' in html
    assert 'href="/tracker/requests/" aria-current="page"' in html  # in the sidebar
    with django_assert_max_num_queries(20) as few:
        assert client.get("/tracker/requests/?show=all").status_code == 200
    for _ in range(4):
        released(cse, pd, csm, globex)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/tracker/requests/?show=all").status_code == 200
    assert "Apophis" in client.get(f"/tracker/requests/?show=waiting&csm={csm.pk}").content.decode()
    assert client.get("/tracker/requests/?show=prioritized").status_code == 200
    assert client.get("/tracker/requests/?show=everything").status_code == 422
    assert client.get("/tracker/requests/?csm=999999").status_code == 422
    assert client.get("/tracker/requests/?csm=abc").status_code == 422


def test_the_form_opens_a_request(
    client: Client, acme: Account, globex: Account, cse: Person
) -> None:
    as_user(client, cse)
    page = client.get(f"/tracker/requests/new/?account={acme.pk}").content.decode()
    assert "Kamo`oalewa" in page
    assert "Acme" not in page
    assert "selected" in page
    r = client.post(
        "/tracker/requests/new/",
        {"title": "CSV export", "body": "Hosts as CSV.", "accounts": [acme.pk, globex.pk]},
    )
    issue = TrackerIssue.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/tracker/{issue.pk}/"
    assert issue.kind == TrackerIssue.Kind.FEATURE_REQUEST
    assert issue.created_by == cse
    assert selectors.labels_of(issue) == ["customer-apophis", "customer-kamooalewa"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"body": "x", "accounts": ["ACME"]}, "title"),
        ({"title": "CSV export"}, "accounts"),
        ({"title": "CSV export", "accounts": ["999999"]}, "accounts"),
        ({"title": "CSV export", "accounts": ["acme"]}, "accounts"),
        ({"title": "Acme Robotics wants CSV", "accounts": ["ACME"]}, "title"),
        ({"title": "CSV", "body": "For Acme Robotics", "accounts": ["ACME"]}, "body"),
        ({"title": "x" * 300, "accounts": ["ACME"]}, "title"),
    ],
)
def test_the_form_refuses_bad_input_by_field(
    client: Client, acme: Account, cse: Person, data: dict[str, Any], field: str
) -> None:
    if data.get("accounts") == ["ACME"]:
        data = {**data, "accounts": [str(acme.pk)]}
    r = as_user(client, cse).post("/tracker/requests/new/", data)
    assert r.status_code == 422
    assert error_on(r.content.decode(), field)
    assert not TrackerIssue.objects.exists()
    assert not FeatureRequest.objects.exists()


def test_the_form_names_every_missing_field_at_once(client: Client, cse: Person) -> None:
    r = as_user(client, cse).post("/tracker/requests/new/", {"title": " ", "body": ""})
    html = r.content.decode()
    assert r.status_code == 422
    assert error_on(html, "title")
    assert error_on(html, "accounts")
    assert "2 things to fix" in html


def test_the_panel_is_a_fragment_with_the_moves_of_the_stage(
    client: Client, acme: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = open_request(cse, acme)
    as_user(client, cse)
    for headers in ({}, HTMX):
        r = client.get(url(issue), **headers)
        html = r.content.decode()
        assert r.status_code == 200
        assert "<html" not in html
        assert 'id="feature-panel"' in html
    assert 'data-move="prioritize"' in html
    assert 'data-move="record_outcome"' not in html
    assert "Kamo`oalewa" in html
    assert "Acme" not in html
    bug = services.open_issue(
        actor=None, repository=selectors.repository("public"), title="A bug", body=""
    )
    assert client.get(url(bug)).status_code == 404
    assert client.get("/tracker/999999/feature/").status_code == 404


def test_the_whole_flow_through_the_panel(
    client: Client, acme: Account, globex: Account, cse: Person, pd: Person, csm: Person
) -> None:
    issue = open_request(cse, acme)
    as_user(client, pd)
    r = client.post(url(issue, "prioritize"), {"product_designer": pd.pk}, **HTMX)
    assert r.status_code == 200
    assert "tracker:issue-changed" in r["HX-Trigger"]
    assert 'data-move="ask_for_feedback"' in r.content.decode()
    assert (
        client.post(url(issue, "prioritize"), {"product_designer": pd.pk}, **HTMX).status_code
        == 409
    )
    r = client.post(url(issue, "accounts"), {"account": globex.pk}, **HTMX)
    assert r.status_code == 200
    assert "Apophis" in r.content.decode()
    r = client.post(url(issue, "ask-for-feedback"), {"csm": csm.pk}, **HTMX)
    assert r.status_code == 200
    assert 'data-stage="waiting"' in r.content.decode()
    as_user(client, csm)
    r = client.post(
        url(issue, "outcome"),
        {"outcome": "not_met", "evidence_link": GONG, "note": "Needs columns."},
        **HTMX,
    )
    assert r.status_code == 200
    assert 'data-stage="not_met"' in r.content.decode()
    as_user(client, pd)
    client.post(url(issue, "ask-for-feedback"), {"csm": csm.pk}, **HTMX)
    as_user(client, csm)
    r = client.post(url(issue, "outcome"), {"outcome": "met"})  # without htmx: to the issue
    assert r.status_code == 302
    assert r["Location"] == f"/tracker/{issue.pk}/"
    issue, request = fresh(issue)
    assert issue.state == TrackerIssue.State.CLOSED
    assert request.outcome == "met"


@pytest.mark.parametrize(
    ("stage", "move", "data", "status", "field"),
    [
        ("requested", "prioritize", {}, 422, "product_designer"),
        ("requested", "prioritize", {"product_designer": "999999"}, 422, "product_designer"),
        ("requested", "prioritize", {"product_designer": "iris"}, 422, "product_designer"),
        ("requested", "prioritize", {"product_designer": "ENGINEER"}, 422, "product_designer"),
        ("requested", "ask-for-feedback", {"csm": "CSM"}, 409, ""),
        ("prioritized", "ask-for-feedback", {}, 422, "csm"),
        ("prioritized", "ask-for-feedback", {"csm": "999999"}, 422, "csm"),
        (
            "prioritized",
            "ask-for-feedback",
            {"csm": "CSM", "product_designer": "x"},
            422,
            "product_designer",
        ),
        ("prioritized", "outcome", {"outcome": "met"}, 409, ""),
        ("waiting", "outcome", {}, 422, "outcome"),
        ("waiting", "outcome", {"outcome": "not_met"}, 422, "evidence_link"),
        (
            "waiting",
            "outcome",
            {"outcome": "not_met", "evidence_link": "gong"},
            422,
            "evidence_link",
        ),
        (
            "waiting",
            "outcome",
            {"outcome": "not_met", "evidence_link": "http://gong.io/c"},
            422,
            "evidence_link",
        ),
        (
            "waiting",
            "outcome",
            {"outcome": "not_met", "evidence_link": GONG, "note": "Acme Robotics"},
            422,
            "note",
        ),
        ("waiting", "accounts", {}, 422, "account"),
        ("waiting", "accounts", {"account": "999999"}, 422, "account"),
    ],
)
def test_every_move_refuses_bad_input_by_field_and_writes_nothing(
    client: Client,
    acme: Account,
    cse: Person,
    pd: Person,
    csm: Person,
    engineer: Person,
    stage: str,
    move: str,
    data: dict[str, str],
    status: int,
    field: str,
) -> None:
    issue = open_request(cse, acme)
    if stage != "requested":
        fr.prioritize(actor=pd.user, issue=issue, product_designer=pd)
    if stage == "waiting":
        fr.ask_for_feedback(actor=pd.user, issue=issue, csm=csm)
    names = {"CSM": str(csm.pk), "ENGINEER": str(engineer.pk)}
    data = {key: names.get(value, value) for key, value in data.items()}
    before = (
        list(FeatureRequest.objects.filter(pk=issue.pk).values()),
        comments(issue),
        selectors.labels_of(selectors.get_issue(issue.pk)),
        selectors.assignees_of(selectors.get_issue(issue.pk)),
    )
    audits = AuditEntry.objects.count()
    as_user(client, cse)
    for headers in (HTMX, {}):
        r = client.post(url(issue, move), data, **headers)
        html = r.content.decode()
        assert r.status_code == status
        assert 'id="feature-panel"' in html
        assert ("<html" in html) == (not headers)
        if field:
            assert error_on(html, field), html
        else:
            assert "Stage" in html
    after = (
        list(FeatureRequest.objects.filter(pk=issue.pk).values()),
        comments(issue),
        selectors.labels_of(selectors.get_issue(issue.pk)),
        selectors.assignees_of(selectors.get_issue(issue.pk)),
    )
    assert after == before
    assert AuditEntry.objects.count() == audits


# --- permissions ---------------------------------------------------------------------------


def test_without_the_permissions_it_is_403(
    client: Client,
    acme: Account,
    cse: Person,
    pd: Person,
    engineer: Person,
    make_person: Callable[..., Person],
) -> None:
    issue = open_request(cse, acme)
    as_user(client, engineer)
    for path in ("/tracker/requests/", "/tracker/requests/new/", url(issue)):
        assert client.get(path).status_code == 403, path
    assert client.post("/tracker/requests/new/", {"title": "x"}).status_code == 403
    moves = ("prioritize", "ask-for-feedback", "outcome", "accounts")
    for move in moves:
        assert client.post(url(issue, move), {"product_designer": pd.pk}).status_code == 403
    # Viewing is not changing: the panel shows no moves, and a move is refused.
    viewer = make_person("evangelist", name="Eve Stone")
    as_user(client, viewer)
    html = client.get(url(issue)).content.decode()
    assert "data-move" not in html
    assert client.get("/tracker/requests/").status_code == 200
    assert client.get("/tracker/requests/new/").status_code == 403
    for move in moves:
        assert client.post(url(issue, move), {"product_designer": pd.pk}).status_code == 403
    issue, request = fresh(issue)
    assert fr.stage_of(request, issue) == FeatureStage.REQUESTED
    client.logout()
    assert client.get("/tracker/requests/").status_code == 302
