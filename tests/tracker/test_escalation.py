"""The escalation workflow: the moves and their labels, the stand-up board's business days, the
second-business-day sweep, the manager's acknowledgement."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from ceres.accounts.models import Account
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict
from ceres.sla.models import SlaPolicy
from ceres.team.models import Person
from ceres.tracker import escalation, selectors, services
from ceres.tracker.models import IssueComment, StandupAcknowledgement, TrackerIssue
from ceres.tracker.standup import WEEKDAYS, board_calendar, board_expires_at, business_day_on_board
from tests.tracker.conftest import at

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
CHICAGO = board_calendar  # (the support calendar of the handbook fixture is in Chicago)


def labels(issue: TrackerIssue) -> list[str]:
    return selectors.labels_of(selectors.get_issue(issue.pk))


def test_escalate_swaps_the_labels_and_puts_it_on_the_board(
    bug: TrackerIssue, cse: Person, clock: Any
) -> None:
    clock(at("2026-11-30T10:00"))  # a Monday
    issue = escalation.escalate(actor=cse.user, issue=bug)
    assert labels(issue) == [":help-customers", "bug", "customer-kamooalewa", "~investigate"]
    assert escalation.stage(issue) == "investigating"
    assert issue.on_board_since == at("2026-11-30T10:00")
    assert issue.board_expires_at == at("2026-12-01T17:00")  # the close of Tuesday
    assert AuditEntry.objects.filter(action="tracker.escalate").count() == 1
    with pytest.raises(Conflict) as caught:
        escalation.escalate(actor=cse.user, issue=issue)
    assert caught.value.field == "stage"


def test_reproduced_goes_to_the_drafting_board(bug: TrackerIssue, cse: Person) -> None:
    issue = escalation.escalate(actor=cse.user, issue=bug)
    issue = escalation.mark_reproduced(actor=cse.user, issue=issue)
    assert labels(issue) == [":help-customers", ":product", "bug", "customer-kamooalewa"]
    assert escalation.stage(issue) == "product"
    assert issue.board_expires_at is None
    assert issue.on_board_since is None
    with pytest.raises(Conflict):
        escalation.mark_not_reproduced(actor=cse.user, issue=issue)


def test_not_reproduced_goes_back_to_qa(bug: TrackerIssue, cse: Person) -> None:
    issue = escalation.escalate(actor=cse.user, issue=bug)
    issue = escalation.mark_not_reproduced(actor=cse.user, issue=issue)
    assert labels(issue) == [
        ":help-customers",
        ":incoming",
        ":reproduce",
        "bug",
        "customer-kamooalewa",
    ]
    assert escalation.stage(issue) == "incoming"
    # QA's turn; it can be escalated again later.
    escalation.escalate(actor=cse.user, issue=issue)


def test_not_reproduced_is_refused_before_an_escalation(bug: TrackerIssue, cse: Person) -> None:
    with pytest.raises(Conflict) as caught:
        escalation.mark_not_reproduced(actor=cse.user, issue=bug)
    assert "incoming" in caught.value.message


def test_the_label_comes_off_when_the_second_business_day_closes(
    bug: TrackerIssue, cse: Person, clock: Any
) -> None:
    clock(at("2026-11-30T10:00"))
    escalation.escalate(actor=cse.user, issue=bug)
    assert escalation.expire_board(now=at("2026-12-01T16:59")) == 0
    assert escalation.expire_board(now=at("2026-12-01T17:00")) == 1
    assert escalation.expire_board(now=at("2026-12-01T17:05")) == 0  # once
    issue = selectors.get_issue(bug.pk)
    assert "~investigate" not in labels(issue)
    assert ":help-customers" in labels(issue)
    assert escalation.stage(issue) == "needs_update"
    assert issue.needs_update_since == at("2026-12-01T17:00")
    (comment,) = IssueComment.objects.filter(issue=issue)
    assert "logs, reproduction steps and details" in comment.body
    assert AuditEntry.objects.filter(action="tracker.standup_expired").count() == 1
    # With fresh details, QA can still decide.
    escalation.mark_reproduced(actor=cse.user, issue=issue)
    assert selectors.get_issue(bug.pk).needs_update_since is None


def test_business_days_skip_weekends_holidays_and_after_hours(
    handbook_policies: dict[str, SlaPolicy],
) -> None:
    cal = board_calendar("support")
    # Friday after hours: Monday is day 1, Tuesday day 2.
    friday_evening = at("2026-11-27T18:00")
    assert board_expires_at(cal, friday_evening, 2) == at("2026-12-01T17:00")
    assert business_day_on_board(cal, friday_evening, at("2026-11-28T12:00")) == 0
    assert business_day_on_board(cal, friday_evening, at("2026-11-30T08:00")) == 1
    assert business_day_on_board(cal, friday_evening, at("2026-12-01T09:00")) == 2
    # Thanksgiving (Thursday Nov 26) is not a business day.
    assert board_expires_at(cal, at("2026-11-25T10:00"), 2) == at("2026-11-27T17:00")
    # Without a calendar, Monday to Friday in UTC.
    assert board_calendar("nonexistent") is WEEKDAYS


def test_a_label_added_by_hand_puts_an_issue_on_the_board(bug: TrackerIssue, cse: Person) -> None:
    services.change_labels(actor=cse.user, issue=bug, add=["~investigate"])
    issue = selectors.get_issue(bug.pk)
    assert issue.on_board_since is not None
    assert issue.board_expires_at is not None
    services.change_labels(actor=cse.user, issue=issue, remove=["~investigate"])
    issue = selectors.get_issue(bug.pk)
    assert issue.on_board_since is None
    assert issue.board_expires_at is None


def test_acknowledging_comments_on_the_issue_once_a_day(
    bug: TrackerIssue, vp: Person, clock: Any
) -> None:
    clock(at("2026-11-30T10:00"))
    with pytest.raises(Conflict):
        escalation.acknowledge(actor=vp.user, issue=bug, person=vp)
    escalation.escalate(actor=vp.user, issue=bug)
    first = escalation.acknowledge(actor=vp.user, issue=bug, person=vp, note="Looking at logs")
    again = escalation.acknowledge(actor=vp.user, issue=bug, person=vp)
    assert first.pk == again.pk
    (comment,) = IssueComment.objects.filter(issue=bug)
    assert comment.body.startswith("Acknowledged at the :help-customers stand-up (Nov 30) by Ada")
    assert "Looking at logs" in comment.body
    clock(at("2026-12-01T10:00"))
    escalation.acknowledge(actor=vp.user, issue=bug, person=vp)
    assert StandupAcknowledgement.objects.filter(issue=bug).count() == 2


# The pages -------------------------------------------------------------------------------


def test_the_board_lists_investigations_with_their_day(
    client: Client, bug: TrackerIssue, cse: Person, clock: Any
) -> None:
    clock(at("2026-11-30T10:00"))
    escalation.escalate(actor=cse.user, issue=bug)
    client.force_login(cse.user)
    clock(at("2026-12-01T10:00"))
    html = client.get("/tracker/standup/").content.decode()
    assert bug.title in html
    assert "day 2 of 2" in html
    assert "Acknowledge" in html
    response = client.post(f"/tracker/{bug.pk}/acknowledge/", {"note": ""})
    assert response.status_code == 302
    html = client.get("/tracker/standup/").content.decode()
    assert "acknowledged" in html


def test_moves_through_the_issue_page(client: Client, bug: TrackerIssue, cse: Person) -> None:
    client.force_login(cse.user)
    page = client.get(f"/tracker/{bug.pk}/").content.decode()
    assert 'data-move="escalate"' in page
    assert 'data-move="not_reproduced"' not in page
    assert client.post(f"/tracker/{bug.pk}/move/escalate/").status_code == 302
    assert "~investigate" in labels(bug)
    again = client.post(f"/tracker/{bug.pk}/move/escalate/")
    assert again.status_code == 409
    assert "stage" in again.content.decode()
    assert client.post(f"/tracker/{bug.pk}/move/fly/").status_code == 404
    assert client.post(f"/tracker/{bug.pk}/move/reproduced/").status_code == 302
    assert ":product" in labels(bug)


def test_bad_input_on_the_issue_endpoints(
    client: Client, bug: TrackerIssue, cse: Person, engineer: Person
) -> None:
    client.force_login(cse.user)
    assert client.post(f"/tracker/{bug.pk}/comment/", {"body": ""}).status_code == 422
    leak = client.post(f"/tracker/{bug.pk}/comment/", {"body": "Acme Robotics again"})
    assert leak.status_code == 422
    assert "confidential" in leak.content.decode()
    assert client.post(f"/tracker/{bug.pk}/labels/", {}).status_code == 422
    assert client.post(f"/tracker/{bug.pk}/labels/", {"add": "x" * 51}).status_code == 422
    assert client.post(f"/tracker/{bug.pk}/state/", {"state": "gone"}).status_code == 422
    assert client.post(f"/tracker/{bug.pk}/acknowledge/", {"note": "x" * 2001}).status_code == 422
    assert client.post("/tracker/999999/comment/", {"body": "hi"}).status_code == 404
    assert client.get("/tracker/?state=maybe").status_code == 422
    assert client.get("/tracker/?kind=nope").status_code == 422
    assert IssueComment.objects.count() == 0
    assert client.post(f"/tracker/{bug.pk}/comment/", {"body": "Seen"}).status_code == 302
    assert client.post(f"/tracker/{bug.pk}/labels/", {"add": "P2, ~blocked"}).status_code == 302
    assert "P2" in labels(bug)
    assert "~blocked" in labels(bug)
    assert client.post(f"/tracker/{bug.pk}/state/", {"state": "closed"}).status_code == 302
    client.force_login(engineer.user)
    assert client.get("/tracker/").status_code == 403
    assert client.post(f"/tracker/{bug.pk}/move/escalate/").status_code == 403


def test_the_status_page_shows_the_open_bugs(
    client: Client, bug: TrackerIssue, acme: Account, cse: Person
) -> None:
    client.force_login(cse.user)
    escalation.escalate(actor=cse.user, issue=bug)
    html = client.get(f"/accounts/{acme.pk}/status/").content.decode()
    assert bug.title in html
    assert "Investigating: on the stand-up board" in html
    services.set_state(actor=cse.user, issue=bug, state="closed")
    html = client.get(f"/accounts/{acme.pk}/status/").content.decode()
    assert bug.title not in html
