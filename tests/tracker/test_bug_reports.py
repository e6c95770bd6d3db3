"""Filing a bug report (the handbook's required fields, the labels, the body, the firewall, the
confidential issue, "same issue") through the service and the form."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ceres.accounts.models import Account
from ceres.conversations import services as conversation_services
from ceres.core.audit.models import AuditEntry
from ceres.core.errors import ConfidentialLeak, Invalid
from ceres.team.models import Person
from ceres.tracker import bugs, selectors
from ceres.tracker.bugs import BugReportInput
from ceres.tracker.models import BugReport, IssueComment, TrackerIssue
from tests.tracker.conftest import form_data

pytestmark = pytest.mark.django_db


def test_a_bug_report_gets_the_handbook_labels_and_a_body_from_its_fields(
    acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    bug_input.details = {"total_hosts": "4,000", "redis_cluster_mode": "no", "mysql_version": ""}
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    issue = report.issue
    assert issue.repository.name == "public"
    assert issue.number == 1
    assert selectors.labels_of(issue) == [":incoming", ":reproduce", "bug", "customer-kamooalewa"]
    assert "- **Agent:** fleetd 1.30.0" in issue.body
    assert "### Steps to reproduce\n1. Upgrade fleetd" in issue.body
    assert "| Total hosts | 4000 |" in issue.body
    assert "MySQL" not in issue.body
    assert report.details == {"total_hosts": 4000, "redis_cluster_mode": "no"}
    assert AuditEntry.objects.filter(action="tracker.bug_report.file").count() == 1


def test_steps_from_the_customer_are_titled_as_such(
    acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    bug_input.steps_from_customer = True
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    assert "### Steps the customer took (the team could not reproduce it)" in report.issue.body


@pytest.mark.parametrize("missing", [name for name, _ in bugs.REQUIRED] + ["title"])
def test_every_required_field_is_required(
    acme: Account, cse: Person, bug_input: BugReportInput, missing: str
) -> None:
    with pytest.raises(Invalid) as caught:
        bugs.file_bug_report(
            actor=cse.user, account=acme, data=replace(bug_input, **{missing: "  "}), filed_by=cse
        )
    assert caught.value.field == missing
    assert not TrackerIssue.objects.exists()


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"total_hosts": "many"}, "total_hosts"),
        ({"online_hosts": "-3"}, "online_hosts"),
        ({"scheduled_queries": "99999999999"}, "scheduled_queries"),
        ({"redis_cluster_mode": "maybe"}, "redis_cluster_mode"),
        ({"instances": "x" * 501}, "instances"),
        ({"colour": "blue"}, "details.colour"),
    ],
)
def test_bad_details_are_refused_by_name(
    acme: Account, cse: Person, bug_input: BugReportInput, details: dict[str, str], field: str
) -> None:
    bug_input.details = details
    with pytest.raises(Invalid) as caught:
        bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    assert caught.value.field == field
    assert not TrackerIssue.objects.exists()


def test_a_real_name_blocks_the_public_issue_and_says_where(
    acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    bug_input.actual_behavior = "On it:\nACME Robotics' fleet of 4,000 hosts goes offline."
    with pytest.raises(ConfidentialLeak) as caught:
        bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    assert caught.value.field == "actual_behavior"
    assert "'ACME Robotics' at line 2, column 1" in caught.value.message
    assert not TrackerIssue.objects.exists()


def test_confidential_details_go_to_the_confidential_repository(
    acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    bug_input.confidential_details = "Acme Robotics' host web-7.acme.example is affected."
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    secret = report.confidential_issue
    assert secret is not None
    assert secret.repository.name == "confidential"
    assert "Acme Robotics" in secret.body
    assert "Acme" not in report.issue.body
    assert report.issue.reference in secret.body
    assert selectors.labels_of(secret) == ["customer-kamooalewa"]


def test_filing_from_a_conversation_notes_it_there(
    acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="Hosts offline", body="Help", account=acme
    )
    report = bugs.file_bug_report(
        actor=cse.user, account=acme, data=bug_input, filed_by=cse, conversation=conversation
    )
    assert report.conversation == conversation
    assert conversation.messages.filter(body__contains=report.issue.reference).exists()


def test_same_issue_adds_the_customer_label_and_a_comment_once(
    acme: Account, cse: Person, bug_input: BugReportInput, make_person: object
) -> None:
    from ceres.accounts import services as account_services

    other = account_services.create_account(
        actor=cse.user, legal_name="Globex", codename="Vesta", product="premium"
    )
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    for _ in range(2):
        bugs.same_issue(actor=cse.user, issue=report.issue, account=other, person=cse)
    issue = selectors.get_issue(report.issue.pk)
    assert "customer-vesta" in selectors.labels_of(issue)
    comments = list(IssueComment.objects.filter(issue=issue))
    assert [c.body for c in comments] == ["Also affects customer `customer-vesta`."]
    with pytest.raises(ConfidentialLeak):
        bugs.same_issue(actor=cse.user, issue=issue, account=acme, person=cse, note="Globex too")


# The form ----------------------------------------------------------------------------------


def test_the_form_says_which_required_fields_are_missing(
    client: Client, acme: Account, cse: Person
) -> None:
    client.force_login(cse.user)
    data = form_data(account=acme.pk, agent_version="", web_browser="", reproduction_steps="")
    response = client.post("/tracker/file/", data)
    assert response.status_code == 422
    html = response.content.decode()
    for field in ("agent_version", "web_browser", "reproduction_steps"):
        assert f'data-field="{field}"' in html
    assert html.count("Required by the handbook.") == 3
    assert not TrackerIssue.objects.exists()


def test_the_form_shows_the_firewall_on_the_field(
    client: Client, acme: Account, cse: Person
) -> None:
    client.force_login(cse.user)
    data = form_data(
        account=acme.pk, title="Acme Robotics: hosts offline", detail_instances="3 x Acme Robotics"
    )
    response = client.post("/tracker/file/", data)
    assert response.status_code == 422
    html = response.content.decode()
    assert html.count("blocked: a customer&#x27;s confidential name") == 2
    assert not TrackerIssue.objects.exists()


def test_the_form_files_and_keeps_the_debug_archive(
    client: Client, acme: Account, cse: Person
) -> None:
    client.force_login(cse.user)
    archive = SimpleUploadedFile("debug.tar.gz", b"\x1f\x8b archive", "application/gzip")
    response = client.post(
        "/tracker/file/", form_data(account=acme.pk, debug_archive=archive, detail_total_hosts="12")
    )
    assert response.status_code == 302
    report = BugReport.objects.get()
    assert response["Location"] == f"/tracker/{report.pk}/"
    assert "debug archive" in report.issue.body
    download = client.get(f"/tracker/{report.pk}/archive/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x1f\x8b archive"
    page = client.get(f"/tracker/{report.pk}/")
    assert page.status_code == 200
    assert "customer-kamooalewa" in page.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "account"),
        ("?account=abc", "account"),
        ("?account=999999", "account"),
        ("?conversation=x", "conversation"),
    ],
)
def test_the_form_needs_an_account_or_a_conversation(
    client: Client, acme: Account, cse: Person, query: str, field: str
) -> None:
    client.force_login(cse.user)
    response = client.get(f"/tracker/file/{query}")
    assert response.status_code in (404, 422)
    if response.status_code == 422:
        assert field in response.content.decode()


def test_a_conversation_without_an_account_cannot_file(client: Client, cse: Person) -> None:
    conversation = conversation_services.open_conversation(
        actor=None, source="slack", subject="Community question", body="Hi"
    )
    client.force_login(cse.user)
    response = client.get(f"/tracker/file/?conversation={conversation.pk}")
    assert response.status_code == 422
    assert "link it to the customer" in response.content.decode()


def test_filing_needs_the_permission(client: Client, acme: Account, engineer: Person) -> None:
    client.force_login(engineer.user)
    assert client.get(f"/tracker/file/?account={acme.pk}").status_code == 403
    assert client.post("/tracker/file/", form_data(account=acme.pk)).status_code == 403
    assert not TrackerIssue.objects.exists()


def test_similar_issues_are_listed_with_a_same_issue_button(
    client: Client, acme: Account, cse: Person, bug_input: BugReportInput
) -> None:
    bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    client.force_login(cse.user)
    response = client.get(
        "/tracker/similar/", {"title": "hosts offline after upgrade", "account": acme.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hosts go offline after the agent upgrade" in html
    assert "already on it" in html  # Kamo`oalewa carries the label already
    nothing = client.get("/tracker/similar/", {"title": "zebra quokka"})
    assert "No similar issue" in nothing.content.decode()
    assert client.get("/tracker/similar/", {"account": "x"}).status_code == 422


def test_the_confidential_issue_is_hidden_from_codenames_only_people(
    client: Client, acme: Account, cse: Person, bug_input: BugReportInput, make_person: Any
) -> None:
    bug_input.confidential_details = "Acme Robotics' host web-7 is affected."
    report = bugs.file_bug_report(actor=cse.user, account=acme, data=bug_input, filed_by=cse)
    secret = report.confidential_issue
    assert secret is not None
    reader = make_person("engineer", name="Quinn QA", email="quinn@example.com")
    from ceres.team import services as team_services

    team_services.save_role(
        actor=None,
        key="engineer",
        name="Engineer",
        permission_names=["tracker.view_trackerissue", "tracker.change_trackerissue"],
    )
    client.force_login(reader.user)
    listing = client.get("/tracker/?state=all").content.decode()
    assert report.issue.title in listing
    assert "confidential#" not in listing
    assert client.get(f"/tracker/{secret.pk}/").status_code == 404
    assert client.post(f"/tracker/{secret.pk}/comment/", {"body": "hi"}).status_code == 404
    page = client.get(f"/tracker/{report.pk}/").content.decode()
    assert f"/tracker/{secret.pk}/" not in page
    similar = client.get("/tracker/similar/", {"title": "hosts offline upgrade"}).content.decode()
    assert "confidential#" not in similar
    # The CSE, who may see real names, sees both.
    client.force_login(cse.user)
    assert client.get(f"/tracker/{secret.pk}/").status_code == 200
