"""The tracker's HTTP API (`/api/v1/tracker`): every endpoint, its bad input (4xx naming the
field, nothing written, never a 500), its permission, the list endpoints' query counts, and
that no real name reaches a caller without accounts.view_confidential."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from ceres.accounts.models import Account
from ceres.conversations import services as conversation_services
from ceres.core.audit.models import AuditEntry
from ceres.team import services as team_services
from ceres.team.models import Person
from ceres.tracker import api, bugs, escalation, selectors, services
from ceres.tracker.models import (
    BugReport,
    IssueComment,
    IssueLabel,
    StandupAcknowledgement,
    TrackerIssue,
)
from tests.accounts.test_api import bearer, post
from tests.tracker.conftest import FORM, at, report_input

pytestmark = pytest.mark.django_db

URL = "/api/v1/tracker"
UTC = datetime.UTC
HUGE = str(2**63)


@pytest.fixture
def globex(acme: Account, cse: Person) -> Account:
    from ceres.accounts import services as account_services

    return account_services.create_account(
        actor=cse.user, legal_name="Globex Corporation", codename="Vesta", product="premium"
    )


@pytest.fixture
def triager(make_person: Callable[..., Person]) -> Person:
    """A support engineer whose confidential access is withheld: codenames only."""
    return make_person(
        "cse",
        name="Tia Tran",
        email="tia@example.com",
        username="tia",
        withheld_permissions=["accounts.view_confidential"],
    )


@pytest.fixture
def h(cse: Person) -> dict[str, str]:
    return bearer(cse)


def written() -> dict[str, int]:
    return {
        "issues": TrackerIssue.objects.count(),
        "reports": BugReport.objects.count(),
        "labels": IssueLabel.objects.count(),
        "comments": IssueComment.objects.count(),
        "acks": StandupAcknowledgement.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def error_of(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content
    body: dict[str, Any] = response.json()
    assert {"error", "field", "message"} <= set(body), body
    return body


def report_body(account: Account, **changes: Any) -> dict[str, Any]:
    return {**FORM, "account_id": account.pk, **changes}


def labels(issue: TrackerIssue) -> list[str]:
    return selectors.labels_of(selectors.get_issue(issue.pk))


# --- filing a bug report ---------------------------------------------------------------------


def test_filing_a_bug_report_answers_201_with_the_issue(
    client: Client, acme: Account, h: dict[str, str], handbook_policies: Any
) -> None:
    details = {"total_hosts": 4000, "redis_cluster_mode": "no", "mysql_version": None}
    r = post(client, f"{URL}/bug-reports", report_body(acme, details=details), **h)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["kind"] == "bug"
    assert body["labels"] == [":incoming", ":reproduce", "bug", "customer-kamooalewa"]
    assert body["stage"] == "incoming"
    assert body["moves"] == ["escalate", "reproduced"]
    assert "| Total hosts | 4000 |" in body["body"]
    report = body["bug_report"]
    assert report["account"] == "Kamo`oalewa"
    assert report["legal_name"] == "Acme Robotics"  # the CSE may see it
    assert report["agent_kind"] == "fleetd"
    assert report["details"] == {"total_hosts": 4000, "redis_cluster_mode": "no"}
    assert report["filed_by"] == "Lena Park"
    assert AuditEntry.objects.filter(action="tracker.bug_report.file").count() == 1


def test_filing_from_a_conversation_takes_its_account_and_notes_it_there(
    client: Client, acme: Account, h: dict[str, str]
) -> None:
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="Hosts offline", body="Help", account=acme
    )
    body = {**FORM, "conversation_id": conversation.pk}
    r = post(client, f"{URL}/bug-reports", body, **h)
    assert r.status_code == 201, r.content
    assert r.json()["bug_report"]["conversation_id"] == conversation.pk
    assert r.json()["bug_report"]["account_id"] == acme.pk
    assert conversation.messages.filter(body__contains=r.json()["reference"]).exists()


@pytest.mark.parametrize("missing", ["title", *[name for name, _ in bugs.REQUIRED]])
def test_the_first_missing_field_is_named(
    client: Client, acme: Account, h: dict[str, str], missing: str
) -> None:
    before = written()
    left_out = report_body(acme)
    del left_out[missing]
    assert error_of(post(client, f"{URL}/bug-reports", left_out, **h), 422)["field"] == missing
    if missing != "agent_kind":  # a blank text is missing too; a blank choice is no choice
        blank = report_body(acme, **{missing: "   "})
        assert error_of(post(client, f"{URL}/bug-reports", blank, **h), 422)["field"] == missing
    everything_missing = post(client, f"{URL}/bug-reports", {"account_id": acme.pk}, **h)
    assert error_of(everything_missing, 422)["field"] == "title"
    assert written() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": 42}, "title"),
        ({"title": "x" * 257}, "title"),
        ({"server_version": "4." * 30}, "server_version"),
        ({"web_browser": "b" * 201}, "web_browser"),
        ({"actual_behavior": "a" * (bugs.TEXT_MAX + 1)}, "actual_behavior"),
        ({"agent_kind": "docker"}, "agent_kind"),
        ({"steps_from_customer": "yes"}, "steps_from_customer"),
        ({"steps_from_customer": 1}, "steps_from_customer"),
        ({"account_id": "12"}, "account_id"),
        ({"account_id": HUGE}, "account_id"),
        ({"account_id": 10**30}, "account_id"),
        ({"account_id": 0}, "account_id"),
        ({"account_id": 999999}, "account_id"),
        ({"account_id": None}, "account_id"),
        ({"conversation_id": 999999}, "conversation_id"),
        ({"conversation_id": True}, "conversation_id"),
        ({"details": {"total_hosts": "many"}}, "details.total_hosts"),
        ({"details": {"total_hosts": -3}}, "details.total_hosts"),
        ({"details": {"scheduled_queries": 99999999999}}, "details.scheduled_queries"),
        ({"details": {"redis_cluster_mode": "maybe"}}, "details.redis_cluster_mode"),
        ({"details": {"instances": "x" * 501}}, "details.instances"),
        ({"details": {"colour": "blue"}}, "details.colour"),
        ({"details": ["total_hosts"]}, "details"),
        ({"confidential_details": "c" * (services.MAX_BODY + 1)}, "confidential_details"),
        ({"title": "Hosts\x00 offline"}, "title"),
        ({"reproduction_steps": "step \udc00"}, "reproduction_steps"),
        ({"assignee": "lena"}, "assignee"),
    ],
)
def test_bad_bug_report_input_is_422_naming_the_field(
    client: Client, acme: Account, h: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    before = written()
    r = post(client, f"{URL}/bug-reports", report_body(acme, **changes), **h)
    assert error_of(r, 422)["field"] == field
    assert written() == before


def test_a_conversation_must_have_the_account(
    client: Client, acme: Account, globex: Account, h: dict[str, str]
) -> None:
    community = conversation_services.open_conversation(
        actor=None, source="slack", subject="Community question", body="Hi"
    )
    no_account = post(client, f"{URL}/bug-reports", {**FORM, "conversation_id": community.pk}, **h)
    body = error_of(no_account, 422)
    assert body["field"] == "conversation_id"
    assert "link it to the customer" in body["message"]
    thread = conversation_services.open_conversation(
        actor=None, source="slack", subject="Hosts offline", body="Help", account=acme
    )
    other = report_body(globex, conversation_id=thread.pk)
    assert error_of(post(client, f"{URL}/bug-reports", other, **h), 422)["field"] == "account_id"
    neither = post(client, f"{URL}/bug-reports", FORM, **h)
    assert error_of(neither, 422)["field"] == "account_id"
    assert not TrackerIssue.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"actual_behavior": "On it:\nACME Robotics' fleet goes offline."}, "actual_behavior"),
        ({"title": "Acme Robotics: hosts offline"}, "title"),
        ({"details": {"instances": "3 x Acme Robotics"}}, "details.instances"),
    ],
)
def test_a_real_name_bound_for_the_public_issue_is_422_naming_the_field(
    client: Client, acme: Account, h: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    before = written()
    body = error_of(post(client, f"{URL}/bug-reports", report_body(acme, **changes), **h), 422)
    assert (body["error"], body["field"]) == ("confidential_leak", field)
    assert written() == before


def test_confidential_details_go_to_the_confidential_issue(
    client: Client, acme: Account, h: dict[str, str]
) -> None:
    secret = "Acme Robotics' host web-7 is affected."
    r = post(client, f"{URL}/bug-reports", report_body(acme, confidential_details=secret), **h)
    assert r.status_code == 201, r.content
    assert "Acme" not in r.json()["body"]
    confidential_id = r.json()["bug_report"]["confidential_issue_id"]
    assert confidential_id is not None
    shown = client.get(f"{URL}/issues/{confidential_id}", **h).json()
    assert shown["repository"] == "confidential"
    assert "Acme Robotics" in shown["body"]


@pytest.mark.parametrize("raw", ["{nope", "[1, 2]", '"title"', "null", ""])
def test_a_body_that_is_no_json_object_is_4xx(
    client: Client, acme: Account, bug: TrackerIssue, h: dict[str, str], raw: str
) -> None:
    before = written()
    for url in (f"{URL}/bug-reports", f"{URL}/issues/{bug.pk}/comments"):
        r = client.post(url, data=raw, content_type="application/json", **h)
        assert error_of(r, (400, 422))["field"] == "__all__"
    assert written() == before


# --- the list --------------------------------------------------------------------------------


def test_the_list_filters_by_state_kind_and_every_label_newest_first(
    client: Client, acme: Account, globex: Account, cse: Person, bug: TrackerIssue, h: Any
) -> None:
    other = services.open_issue(
        actor=None,
        repository=bug.repository,
        title="Dark mode",
        body="",
        kind="feature_request",
        labels=["customer-vesta"],
        assignees=["octocat"],
    )
    closed = services.open_issue(actor=None, repository=bug.repository, title="Old", body="")
    services.set_state(actor=None, issue=closed, state="closed")

    def ids(query: str) -> list[int]:
        r = client.get(f"{URL}/issues{query}", **h)
        assert r.status_code == 200, r.content
        assert r.json()["count"] == len(r.json()["items"])
        return [item["id"] for item in r.json()["items"]]

    assert ids("") == [other.pk, bug.pk]
    assert ids("?state=closed") == [closed.pk]
    assert ids("?state=all") == [closed.pk, other.pk, bug.pk]
    assert ids("?kind=bug") == [bug.pk]
    assert ids("?label=customer-kamooalewa&label=bug") == [bug.pk]
    assert ids("?label=customer-kamooalewa&label=customer-vesta") == []
    assert ids("?label=customer-vesta") == [other.pk]
    item = client.get(f"{URL}/issues?kind=feature_request", **h).json()["items"][0]
    assert item["assignees"] == ["octocat"]
    assert item["stage"] is None  # the escalation stages are a bug's
    page = client.get(f"{URL}/issues?state=all&page=2&page_size=2", **h).json()
    assert ([i["id"] for i in page["items"]], page["count"]) == ([bug.pk], 3)
    assert client.get(f"{URL}/issues?page={10**21}", **h).json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=bogus", "state"),
        ("kind=epic", "kind"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page_size=201", "page_size"),
        ("page_size=0", "page_size"),
        ("label=" + "x" * 51, "label"),
        ("label=", "label"),
        ("&".join(["label=a"] * 11), "label"),
        ("label=bug%00", "label"),
    ],
)
def test_bad_list_filters_are_422_naming_the_parameter(
    client: Client, h: dict[str, str], query: str, field: str
) -> None:
    body = error_of(client.get(f"{URL}/issues?{query}", **h), 422)
    assert body["field"].split(".")[0] == field


def make_issues(count: int, *, acme: Account, cse: Person, escalate: bool = False) -> None:
    for n in range(count):
        data = report_input(title=f"Issue number {n} goes wrong")
        report = bugs.file_bug_report(actor=cse.user, account=acme, data=data, filed_by=cse)
        services.change_assignees(actor=None, issue=report.issue, add=["octocat", f"dev{n}"])
        services.add_comment(actor=None, issue=report.issue, body="Seen it.", author=cse)
        if escalate:
            escalation.escalate(actor=cse.user, issue=report.issue)


def queries(
    client: Client, url: str, headers: dict[str, str], at_most: int, assert_max: Any
) -> int:
    client.get(url, **headers)  # warm: the token's first use is recorded once
    with assert_max(at_most) as captured:
        r = client.get(url, **headers)
    assert r.status_code == 200, r.content
    return len(captured.captured_queries)


# The token, the permissions (twice: the user's and the group's), the workflow, then the page.
@pytest.mark.parametrize(
    ("url", "at_most"),
    [
        (f"{URL}/issues", 8),  # + count, issues, labels, assignees
        (f"{URL}/issues?state=all&kind=bug&label=bug&label=customer-kamooalewa", 8),
        # + the calendar (2), issues, labels, assignees, acknowledgements, customers, and
        # the issues needing an update with their labels and assignees
        (f"{URL}/standup", 14),
    ],
)
@pytest.mark.parametrize("confidential", [True, False])
def test_list_endpoints_read_a_constant_number_of_queries(
    client: Client,
    acme: Account,
    cse: Person,
    triager: Person,
    handbook_policies: Any,
    django_assert_max_num_queries: Any,
    url: str,
    at_most: int,
    confidential: bool,
) -> None:
    headers = bearer(cse if confidential else triager)
    make_issues(1, acme=acme, cse=cse, escalate=True)
    one = queries(client, url, headers, at_most, django_assert_max_num_queries)
    make_issues(19, acme=acme, cse=cse, escalate=True)
    twenty = queries(client, url, headers, at_most, django_assert_max_num_queries)
    assert one == twenty
    body = client.get(url, **headers).json()
    assert len(body["items"]) == 20


def test_the_similar_search_reads_a_constant_number_of_queries(
    client: Client,
    acme: Account,
    cse: Person,
    triager: Person,
    handbook_policies: Any,
    django_assert_max_num_queries: Any,
) -> None:
    url = f"{URL}/issues/similar?text=issue+number+goes+wrong&limit=20"
    # The token and permissions (3), the search (SQLite: 3; PostgreSQL: 10 for four words, in
    # a savepoint), the issues found, and which of them the caller may see.
    at_most = 8 if connection.vendor == "sqlite" else 17
    make_issues(1, acme=acme, cse=cse)
    one = queries(client, url, bearer(triager), at_most, django_assert_max_num_queries)
    make_issues(19, acme=acme, cse=cse)
    twenty = queries(client, url, bearer(triager), at_most, django_assert_max_num_queries)
    assert one == twenty
    assert len(client.get(url, **bearer(triager)).json()) == 20


# --- one issue -------------------------------------------------------------------------------


def test_an_issue_shows_its_labels_assignees_stage_report_and_comments(
    client: Client, bug: TrackerIssue, cse: Person, h: dict[str, str]
) -> None:
    services.change_assignees(actor=None, issue=bug, add=["octocat"])
    services.add_comment(actor=None, issue=bug, body="Seen on 4.52 too.", author=cse)
    r = client.get(f"{URL}/issues/{bug.pk}", **h)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["reference"] == "public#1"
    assert body["assignees"] == ["octocat"]
    assert body["stage"] == "incoming"
    assert body["bug_report"]["reproduction_steps"] == FORM["reproduction_steps"]
    assert body["bug_report"]["has_debug_archive"] is False
    assert [(c["author"], c["body"]) for c in body["comments"]] == [
        ("Lena Park", "Seen on 4.52 too.")
    ]
    plain = services.open_issue(actor=None, repository=bug.repository, title="Docs", body="")
    body = client.get(f"{URL}/issues/{plain.pk}", **h).json()
    assert (body["stage"], body["bug_report"], body["moves"]) == (None, None, [])


@pytest.mark.parametrize(
    ("issue_id", "status", "field"),
    [("999999", 404, "issue_id"), (HUGE, 422, "issue_id"), ("0", 422, "issue_id")],
)
def test_an_unknown_or_absurd_issue_id_is_named(
    client: Client, bug: TrackerIssue, h: dict[str, str], issue_id: str, status: int, field: str
) -> None:
    before = written()
    calls = [
        client.get(f"{URL}/issues/{issue_id}", **h),
        post(client, f"{URL}/issues/{issue_id}/comments", {"body": "Hi"}, **h),
        post(client, f"{URL}/issues/{issue_id}/labels", {"add": ["x"]}, **h),
        post(client, f"{URL}/issues/{issue_id}/state", {"state": "closed"}, **h),
        post(client, f"{URL}/issues/{issue_id}/acknowledge", {}, **h),
        post(client, f"{URL}/issues/{issue_id}/moves/escalate", {}, **h),
        post(client, f"{URL}/issues/{issue_id}/same-issue", {"account_id": 1}, **h),
    ]
    for r in calls:
        assert error_of(r, status)["field"] == field
    assert written() == before


def test_a_path_id_that_is_no_number_is_a_4xx(
    client: Client, bug: TrackerIssue, h: dict[str, str]
) -> None:
    for url in (f"{URL}/issues/abc", f"{URL}/issues/1.5/comments", f"{URL}/issues/-1"):
        r = client.get(url, **h) if url.endswith(("abc", "-1")) else client.post(url, **h)
        assert 400 <= r.status_code < 500, r.content
        assert "field" in r.json()


# --- the duplicate search --------------------------------------------------------------------


def test_similar_issues_rank_the_report(
    client: Client, bug: TrackerIssue, h: dict[str, str]
) -> None:
    r = client.get(f"{URL}/issues/similar", {"text": "hosts offline after upgrade"}, **h)
    assert r.status_code == 200, r.content
    (found,) = r.json()
    assert (found["issue_id"], found["reference"]) == (bug.pk, "public#1")
    assert found["state"] == "open"
    assert client.get(f"{URL}/issues/similar?text=zebra+quokka", **h).json() == []
    assert client.get(f"{URL}/issues/similar?text=hosts&kind=feature_request", **h).json() == []
    # What is typed is text, never query syntax.
    for text in ['"hosts', "NEAR(hosts offline)", "hosts*", "-", "'; drop table x; --", ""]:
        r = client.get(f"{URL}/issues/similar", {"text": text}, **h)
        assert r.status_code == 200, (text, r.content)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "text"),
        ("text=x&limit=21", "limit"),
        ("text=x&limit=0", "limit"),
        ("text=x&limit=many", "limit"),
        ("text=" + "x" * 2001, "text"),
        ("text=a%00b", "text"),
        ("text=x&kind=epic", "kind"),
    ],
)
def test_bad_similar_queries_are_422_naming_the_parameter(
    client: Client, h: dict[str, str], query: str, field: str
) -> None:
    assert error_of(client.get(f"{URL}/issues/similar?{query}", **h), 422)["field"] == field


# --- same issue ------------------------------------------------------------------------------


def test_same_issue_adds_the_customer_label_and_a_comment_once(
    client: Client, bug: TrackerIssue, globex: Account, h: dict[str, str]
) -> None:
    url = f"{URL}/issues/{bug.pk}/same-issue"
    for _ in range(2):
        r = post(client, url, {"account_id": globex.pk, "note": "Their fleet too."}, **h)
        assert r.status_code == 200, r.content
    assert "customer-vesta" in r.json()["labels"]
    assert [c.body for c in IssueComment.objects.filter(issue=bug)] == [
        "Also affects customer `customer-vesta`.\n\nTheir fleet too."
    ]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({}, 422, "account_id"),
        ({"account_id": "1"}, 422, "account_id"),
        ({"account_id": 999999}, 422, "account_id"),
        ({"account_id": "{globex}", "conversation_id": 999999}, 422, "conversation_id"),
        ({"account_id": "{globex}", "note": "n" * 2001}, 422, "note"),
        ({"account_id": "{globex}", "note": 5}, 422, "note"),
        ({"account_id": "{globex}", "note": "Globex Corporation too"}, 422, "note"),
        ({"account_id": "{globex}", "account": 1}, 422, "account"),
    ],
)
def test_bad_same_issue_input_is_named(
    client: Client,
    bug: TrackerIssue,
    globex: Account,
    h: dict[str, str],
    payload: dict[str, Any],
    status: int,
    field: str,
) -> None:
    payload = {k: globex.pk if v == "{globex}" else v for k, v in payload.items()}
    before = written()
    r = post(client, f"{URL}/issues/{bug.pk}/same-issue", payload, **h)
    assert error_of(r, status)["field"] == field
    assert written() == before


def test_same_issue_on_a_closed_issue_is_refused(
    client: Client, bug: TrackerIssue, globex: Account, h: dict[str, str]
) -> None:
    services.set_state(actor=None, issue=bug, state="closed")
    r = post(client, f"{URL}/issues/{bug.pk}/same-issue", {"account_id": globex.pk}, **h)
    assert error_of(r, 422)["field"] == "issue"
    assert "customer-vesta" not in labels(bug)


# --- the escalation moves and the stand-up ---------------------------------------------------


def test_the_moves_follow_the_workflow_and_refuse_naming_the_stage(
    client: Client, bug: TrackerIssue, h: dict[str, str]
) -> None:
    move = f"{URL}/issues/{bug.pk}/moves"
    refused = error_of(client.post(f"{move}/not_reproduced", **h), 409)
    assert refused["field"] == "stage"
    assert "incoming" in refused["message"]
    r = client.post(f"{move}/escalate", **h)
    assert r.status_code == 200, r.content
    assert r.json()["stage"] == "investigating"
    assert "~investigate" in r.json()["labels"]
    assert error_of(client.post(f"{move}/escalate", **h), 409)["field"] == "stage"
    r = client.post(f"{move}/reproduced", **h)
    assert r.json()["stage"] == "product"
    assert AuditEntry.objects.filter(action="tracker.reproduced").count() == 1


@pytest.mark.parametrize("move", ["nope", "ESCALATE", "a" * 41, "esc%00alate"])
def test_an_unknown_move_is_404_or_422_and_changes_nothing(
    client: Client, bug: TrackerIssue, h: dict[str, str], move: str
) -> None:
    before = written()
    body = error_of(client.post(f"{URL}/issues/{bug.pk}/moves/{move}", **h), (404, 422))
    assert body["field"] == "move"
    assert written() == before


def test_moves_are_for_bugs(client: Client, bug: TrackerIssue, h: dict[str, str]) -> None:
    plain = services.open_issue(actor=None, repository=bug.repository, title="Docs", body="")
    body = error_of(client.post(f"{URL}/issues/{plain.pk}/moves/escalate", **h), 409)
    assert body["field"] == "kind"


def test_the_standup_board_shows_the_business_day_and_todays_acknowledgement(
    client: Client, bug: TrackerIssue, cse: Person, h: dict[str, str], clock: Any
) -> None:
    clock(at("2026-11-30T10:00"))  # a Monday
    ack_url = f"{URL}/issues/{bug.pk}/acknowledge"
    assert error_of(post(client, ack_url, {}, **h), 409)["field"] == "issue"  # not on the board
    client.post(f"{URL}/issues/{bug.pk}/moves/escalate", **h)
    clock(at("2026-12-01T09:30"))  # Tuesday: its second business day
    board = client.get(f"{URL}/standup", **h).json()
    assert (board["today"], board["unacknowledged"]) == ("2026-12-01", 1)
    (row,) = board["items"]
    assert (row["id"], row["business_day"], row["acknowledged_today"]) == (bug.pk, 2, False)
    assert row["customers"] == ["Kamo`oalewa"]
    r = post(client, ack_url, {"note": "Looking at the logs."}, **h)
    assert r.status_code == 200, r.content
    assert (r.json()["day"], r.json()["acknowledged_by"]) == ("2026-12-01", "Lena Park")
    again = post(client, ack_url, {}, **h).json()
    assert again["comment_id"] == r.json()["comment_id"]  # once a day
    assert StandupAcknowledgement.objects.count() == 1
    board = client.get(f"{URL}/standup", **h).json()
    assert (board["unacknowledged"], board["items"][0]["acknowledged_today"]) == (0, True)
    # The sweep takes it off after the second business day: it then needs an update.
    escalation.expire_board(now=at("2026-12-01T17:00"))
    clock(at("2026-12-02T09:00"))
    board = client.get(f"{URL}/standup", **h).json()
    assert board["items"] == []
    assert [i["id"] for i in board["needs_update"]] == [bug.pk]
    assert board["needs_update"][0]["stage"] == "needs_update"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"note": "n" * 2001}, "note"), ({"note": None}, "note"), ({"notes": "x"}, "notes")],
)
def test_bad_acknowledgements_are_422(
    client: Client, bug: TrackerIssue, h: dict[str, str], payload: dict[str, Any], field: str
) -> None:
    client.post(f"{URL}/issues/{bug.pk}/moves/escalate", **h)
    before = written()
    r = post(client, f"{URL}/issues/{bug.pk}/acknowledge", payload, **h)
    assert error_of(r, 422)["field"] == field
    assert written() == before


# --- comments, labels, state -----------------------------------------------------------------


def test_a_comment_is_added(client: Client, bug: TrackerIssue, h: dict[str, str]) -> None:
    r = post(client, f"{URL}/issues/{bug.pk}/comments", {"body": "  Reproduced on 4.52.  "}, **h)
    assert r.status_code == 201, r.content
    assert (r.json()["author"], r.json()["body"]) == ("Lena Park", "Reproduced on 4.52.")
    assert IssueComment.objects.filter(issue=bug).count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "error"),
    [
        ({}, "body", "invalid"),
        ({"body": "   "}, "body", "invalid"),
        ({"body": 42}, "body", "invalid"),
        ({"body": ["hi"]}, "body", "invalid"),
        ({"body": "x" * (services.MAX_BODY + 1)}, "body", "invalid"),
        ({"body": "a\x00b"}, "body", "invalid"),
        ({"body": "Acme Robotics says hi"}, "body", "confidential_leak"),
        ({"body": "hi", "kind": "note"}, "kind", "invalid"),
    ],
)
def test_bad_comments_are_422_naming_the_field(
    client: Client,
    bug: TrackerIssue,
    h: dict[str, str],
    payload: dict[str, Any],
    field: str,
    error: str,
) -> None:
    before = written()
    body = error_of(post(client, f"{URL}/issues/{bug.pk}/comments", payload, **h), 422)
    assert (body["field"], body["error"]) == (field, error)
    assert written() == before


def test_labels_are_added_and_removed(client: Client, bug: TrackerIssue, h: Any) -> None:
    url = f"{URL}/issues/{bug.pk}/labels"
    r = post(client, url, {"add": ["P2", "P2"], "remove": [":reproduce", "absent"]}, **h)
    assert r.status_code == 200, r.content
    assert (r.json()["added"], r.json()["removed"]) == (["P2"], [":reproduce"])
    assert r.json()["labels"] == [":incoming", "P2", "bug", "customer-kamooalewa"]
    again = post(client, url, {"add": ["P2"]}, **h).json()
    assert (again["added"], again["removed"]) == ([], [])


@pytest.mark.parametrize(
    ("payload", "field", "error"),
    [
        ({}, "add", "invalid"),
        ({"add": [], "remove": []}, "add", "invalid"),
        ({"add": "P2"}, "add", "invalid"),
        ({"add": [2]}, "add", "invalid"),
        ({"add": ["x" * 51]}, "add", "invalid"),
        ({"add": [""]}, "add", "invalid"),
        ({"add": ["a,b"]}, "add", "invalid"),
        ({"add": ["   "]}, "add", "invalid"),
        ({"add": [f"l{n}" for n in range(21)]}, "add", "invalid"),
        ({"remove": [None]}, "remove", "invalid"),
        ({"add": ["acme robotics"]}, "add", "confidential_leak"),
        ({"labels": ["P2"]}, "labels", "invalid"),
    ],
)
def test_bad_label_changes_are_422_naming_the_field(
    client: Client,
    bug: TrackerIssue,
    h: dict[str, str],
    payload: dict[str, Any],
    field: str,
    error: str,
) -> None:
    before = written()
    body = error_of(post(client, f"{URL}/issues/{bug.pk}/labels", payload, **h), 422)
    assert (body["field"].split(".")[0], body["error"]) == (field, error)
    assert written() == before


def test_an_issue_is_closed_and_reopened(client: Client, bug: TrackerIssue, h: Any) -> None:
    url = f"{URL}/issues/{bug.pk}/state"
    closed = post(client, url, {"state": "closed"}, **h).json()
    assert (closed["state"], closed["stage"]) == ("closed", "closed")
    assert post(client, url, {"state": "open"}, **h).json()["state"] == "open"
    assert AuditEntry.objects.filter(action="tracker.state").count() == 2


@pytest.mark.parametrize(
    "payload", [{}, {"state": "shut"}, {"state": None}, {"state": 1}, {"state": "closed\x00"}]
)
def test_a_bad_state_is_422(
    client: Client, bug: TrackerIssue, h: dict[str, str], payload: dict[str, Any]
) -> None:
    before = written()
    body = error_of(post(client, f"{URL}/issues/{bug.pk}/state", payload, **h), 422)
    assert body["field"] == "state"
    assert written() == before


# --- permissions -----------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("get", "/issues", None),
    ("get", "/issues/similar?text=hosts", None),
    ("get", "/issues/{id}", None),
    ("get", "/standup", None),
    ("post", "/bug-reports", "report"),
    ("post", "/issues/{id}/same-issue", {"account_id": 1}),
    ("post", "/issues/{id}/moves/escalate", None),
    ("post", "/issues/{id}/acknowledge", {}),
    ("post", "/issues/{id}/comments", {"body": "Hi"}),
    ("post", "/issues/{id}/labels", {"add": ["P2"]}),
    ("post", "/issues/{id}/state", {"state": "closed"}),
]
WRITES = [e for e in ENDPOINTS if e[0] == "post"]


def call(client: Client, method: str, path: str, payload: Any, issue_id: int, **h: str) -> Any:
    url = URL + path.format(id=issue_id)
    if method == "get":
        return client.get(url, **h)
    if payload == "report":
        payload = {**FORM, "account_id": 1}
    data = json.dumps(payload) if payload is not None else None
    return client.post(url, data=data, content_type="application/json", **h)


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
def test_every_endpoint_needs_its_permission_whether_or_not_the_issue_exists(
    client: Client, bug: TrackerIssue, engineer: Person, method: str, path: str, payload: Any
) -> None:
    headers = bearer(engineer)
    before = written()
    existing = call(client, method, path, payload, bug.pk, **headers)
    missing = call(client, method, path, payload, 999999, **headers)
    assert error_of(existing, 403) == error_of(missing, 403)
    assert error_of(existing, 403)["error"] == "permission_denied"
    assert error_of(call(client, method, path, payload, bug.pk), 401)["field"] == "Authorization"
    assert written() == before


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_reading_is_not_writing(
    client: Client,
    bug: TrackerIssue,
    make_person: Callable[..., Person],
    method: str,
    path: str,
    payload: Any,
) -> None:
    team_services.save_role(
        actor=None, key="reader", name="Reader", permission_names=["tracker.view_trackerissue"]
    )
    reader = bearer(make_person("reader", name="Rita Reed", email="rita@example.com"))
    assert client.get(f"{URL}/issues/{bug.pk}", **reader).status_code == 200
    before = written()
    assert error_of(call(client, method, path, payload, bug.pk, **reader), 403)
    assert written() == before


# --- confidentiality -------------------------------------------------------------------------


def test_no_real_name_reaches_a_caller_without_the_permission(
    client: Client,
    acme: Account,
    cse: Person,
    triager: Person,
    handbook_policies: Any,
    clock: Any,
) -> None:
    assert not triager.user.has_perm("accounts.view_confidential")
    assert triager.user.has_perm("tracker.change_trackerissue")
    clock(at("2026-11-30T10:00"))
    data = report_input(confidential_details="Acme Robotics' web-7 is down.")
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=data, filed_by=cse)
    secret = report.confidential_issue
    assert secret is not None
    thread = conversation_services.open_conversation(
        actor=None, source="slack", subject="Hosts offline", body="Help", account=acme
    )
    t = bearer(triager)
    issue = report.issue.pk
    responses = [
        client.get(f"{URL}/issues?state=all", **t),
        client.get(f"{URL}/issues/{issue}", **t),
        client.get(f"{URL}/issues/similar", {"text": "Acme Robotics web-7 hosts offline"}, **t),
        post(client, f"{URL}/bug-reports", {**FORM, "conversation_id": thread.pk}, **t),
        post(client, f"{URL}/issues/{issue}/same-issue", {"account_id": acme.pk}, **t),
        client.post(f"{URL}/issues/{issue}/moves/escalate", **t),
        post(client, f"{URL}/issues/{issue}/acknowledge", {}, **t),
        post(client, f"{URL}/issues/{issue}/comments", {"body": "On it."}, **t),
        post(client, f"{URL}/issues/{issue}/labels", {"add": ["P2"]}, **t),
        client.get(f"{URL}/standup", **t),
        post(client, f"{URL}/issues/{issue}/state", {"state": "closed"}, **t),
    ]
    for r in responses:
        assert r.status_code in (200, 201), r.content
        text = r.content.decode()
        assert "acme" not in text.lower(), text
    listed = responses[0].json()["items"]
    assert [i["repository"] for i in listed] == ["public"]
    assert secret.pk not in [i["id"] for i in listed]
    shown = responses[1].json()["bug_report"]
    assert (shown["account"], shown["legal_name"]) == ("Kamo`oalewa", None)
    assert shown["confidential_issue_id"] is None
    found = [r["issue_id"] for r in responses[2].json()]
    assert found == [issue]
    assert responses[3].json()["bug_report"]["legal_name"] is None
    # The confidential issue is not there for them, to read or to write.
    hidden = [
        client.get(f"{URL}/issues/{secret.pk}", **t),
        post(client, f"{URL}/issues/{secret.pk}/comments", {"body": "Hi"}, **t),
        post(client, f"{URL}/issues/{secret.pk}/state", {"state": "closed"}, **t),
    ]
    for r in hidden:
        assert error_of(r, 404)["field"] == "issue_id"
    # The CSE, who may see names, sees both.
    h = bearer(cse)
    assert client.get(f"{URL}/issues/{secret.pk}", **h).status_code == 200
    assert client.get(f"{URL}/issues?state=all", **h).json()["count"] == 3
    search = {"text": "Acme Robotics web-7 hosts offline"}
    found = [r["issue_id"] for r in client.get(f"{URL}/issues/similar", search, **h).json()]
    assert secret.pk in found


def test_the_detail_schema_is_the_services_list(db: None) -> None:
    assert set(api.BugDetailsIn.model_fields) == {key for key, _, _ in bugs.DETAILS}
    assert set(api.MOVE_FUNCTIONS) == set(escalation.MOVES)
    required = [name for name, _ in bugs.REQUIRED]
    fields = [name for name in api.BugReportIn.model_fields if name in {"title", *required}]
    assert fields == ["title", *required]  # the first missing is the one the service names


def test_the_openapi_document_lists_the_tracker(client: Client, h: dict[str, str]) -> None:
    doc = client.get("/api/v1/openapi.json", **h).json()
    paths = {p.removeprefix("/api/v1/tracker") for p in doc["paths"] if "/tracker/" in p}
    assert paths == {
        "/issues",
        "/issues/similar",
        "/issues/{issue_id}",
        "/bug-reports",
        "/issues/{issue_id}/same-issue",
        "/issues/{issue_id}/moves/{move}",
        "/issues/{issue_id}/acknowledge",
        "/issues/{issue_id}/comments",
        "/issues/{issue_id}/labels",
        "/issues/{issue_id}/state",
        "/standup",
    }
