"""The playbook's `bug_workflow` section and its trackers: applied, diffed, refused with lines,
and in force (`tracker.workflow.current()`, `tracker.selectors.repository()`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.signals import request_started
from django.db import close_old_connections, transaction

from ceres.core.audit.models import AuditEntry
from ceres.core.errors import Conflict, Invalid
from ceres.playbook.errors import PlaybookError
from ceres.playbook.models import PlaybookApplication
from ceres.playbook.services import DEMO_PLAYBOOK, apply_path
from ceres.tracker import config, escalation, selectors, services, workflow
from ceres.tracker.models import TrackerRepository, TrackerSettings
from ceres.tracker.workflow import DEFAULT, Stage, current, workflow_from_spec
from tests.playbook.conftest import MINIMAL, Write, line_of

pytestmark = pytest.mark.django_db

DEMO_WORKFLOW = (
    "+ bug_workflow: labels on file [bug, :incoming, :reproduce]; escalate adds "
    "[~investigate, :help-customers]; ~investigate comes off on business day 2 of support"
)

# A team whose tracker spells the handbook's labels its own way.
RENAMED = """\
bug_workflow:
  labels_on_file: [defect, triage]
  escalate: {remove: [triage], add: [needs-eyes, "cs:standup"]}
  standup: {label: needs-eyes, remove_on_business_day: 3}
  reproduced: {add: ["product:drafting"]}
  not_reproduced: {add: [triage]}
  plus_labels: {prefix: "?", ignore_bots: [Renovate]}
  feature_requests: {prioritized_label: "cs:prioritized", feedback_label: "cs:feedback"}
"""

ORGANIZATION = """\
organization:
  name: Example Vendor Inc.
  product_name: Fleet
"""


def refused(write: Write, text: str) -> list[str]:
    path = write(text)
    with pytest.raises(PlaybookError) as caught:
        apply_path(path)
    assert not TrackerSettings.objects.exists()
    assert not PlaybookApplication.objects.exists()
    return [error.replace(f"{path}:", "FILE:") for error in caught.value.errors]


def test_the_demo_sets_the_handbooks_workflow_and_the_built_in_trackers() -> None:
    result = apply_path(DEMO_PLAYBOOK)
    on_call = [c for c in result.changes if c.startswith(("+ rotation", "+ escalation_chain"))]
    assert len(on_call) == 4
    assert result.changes[-3:] == [
        "+ tracker public: builtin:public",
        "+ tracker confidential: builtin:confidential",
        DEMO_WORKFLOW,
    ]
    workflow = current()
    assert workflow.labels_on_file == ("bug", ":incoming", ":reproduce")
    assert workflow.bug_label == "bug"
    assert (workflow.escalate_remove, workflow.escalate_add) == (
        (":incoming", ":reproduce"),
        ("~investigate", ":help-customers"),
    )
    assert (workflow.standup_label, workflow.remove_on_business_day, workflow.calendar) == (
        "~investigate",
        2,
        "support",
    )
    assert workflow.reproduced_add == (":product",)
    assert workflow.not_reproduced_add == (":incoming", ":reproduce")
    assert (workflow.plus_prefix, workflow.customer_label_prefix) == ("+", "customer-")
    assert workflow.customer_request_label == "~customer request"
    assert workflow.feedback_label == "#g-unicorns"
    assert workflow.ignore_bots == ("github-actions", "dependabot")
    assert workflow.ignores_bot("github-actions[bot]")
    assert workflow.ignores_bot("Dependabot")
    assert not workflow.ignores_bot("a-customer")
    # The handbook's labels are the defaults: only the bots differ.
    assert workflow.to_spec() == {
        **DEFAULT.to_spec(),
        "plus_labels": workflow.to_spec()["plus_labels"],
    }
    row = TrackerSettings.objects.get()
    assert (row.public_tracker, row.confidential_tracker) == (
        "builtin:public",
        "builtin:confidential",
    )
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"tracker.workflow.create", "tracker.repositories.create"} <= actions


def test_applying_the_same_file_twice_changes_nothing() -> None:
    first = apply_path(DEMO_PLAYBOOK)
    row = TrackerSettings.objects.get()
    audited = AuditEntry.objects.count()
    second = apply_path(DEMO_PLAYBOOK)
    assert second.changes == []
    assert second.unchanged == len(first.changes)
    assert TrackerSettings.objects.get().updated_at == row.updated_at
    assert AuditEntry.objects.count() == audited


def test_the_dry_run_shows_the_workflow_field_by_field(write: Write, demo_text: str) -> None:
    apply_path(DEMO_PLAYBOOK)
    edited = (
        demo_text.replace(
            'add: ["~investigate", ":help-customers"]', 'add: ["~investigate", ":triage"]'
        )
        .replace("remove_on_business_day: 2", "remove_on_business_day: 3")
        .replace("public_tracker: builtin:public", "public_tracker: github:example-vendor/product")
    )
    path = write(edited)
    dry = apply_path(path, dry_run=True)
    assert dry.changes == [
        "~ tracker public: builtin:public -> github:example-vendor/product",
        "~ bug_workflow: escalate.add [~investigate, :help-customers] -> [~investigate, :triage]; "
        "standup.remove_on_business_day 2 -> 3",
    ]
    assert current().escalate_add == ("~investigate", ":help-customers")  # nothing written
    applied = apply_path(path)
    assert applied.changes == dry.changes
    assert current().escalate_add == ("~investigate", ":triage")
    assert current().remove_on_business_day == 3
    entry = AuditEntry.objects.get(action="tracker.workflow.update")
    assert entry.actor_label == "playbook"
    assert entry.changes == {
        "escalate.add": [["~investigate", ":help-customers"], ["~investigate", ":triage"]],
        "standup.remove_on_business_day": [2, 3],
    }


def test_renamed_labels_take_effect(write: Write) -> None:
    result = apply_path(write(MINIMAL + RENAMED))
    assert result.changes[-1].startswith("+ bug_workflow: labels on file [defect, triage];")
    # No `support` calendar here: the board counts plain weekdays, and the apply says so.
    assert len(result.warnings) == 1
    assert "calendar 'support' (the default) does not exist" in result.warnings[0]
    workflow = current()
    assert (workflow.bug_label, workflow.labels_on_file) == ("defect", ("defect", "triage"))
    assert (workflow.standup_label, workflow.remove_on_business_day) == ("needs-eyes", 3)
    assert workflow.reproduced_add == ("product:drafting",)
    assert workflow.plus_prefix == "?"
    assert workflow.ignores_bot("renovate[bot]")
    assert (workflow.customer_request_label, workflow.feedback_label) == (
        "cs:prioritized",
        "cs:feedback",
    )
    # Fields left out keep the handbook's defaults.
    assert workflow.customer_label_prefix == "customer-"
    assert workflow.calendar == "support"

    issue = services.open_issue(
        actor=None,
        repository=selectors.repository("public"),
        title="x",
        body="",
        kind="bug",
        labels=list(workflow.labels_on_file),
    )
    escalated = escalation.escalate(actor=None, issue=issue)
    assert selectors.labels_of(escalated) == ["cs:standup", "defect", "needs-eyes"]
    # The stand-up board's timer follows the renamed label, and so does the stage.
    assert escalated.board_expires_at is not None
    assert escalation.stage(escalated) == Stage.INVESTIGATING
    with pytest.raises(Conflict):
        escalation.escalate(actor=None, issue=escalated)
    reproduced = escalation.mark_reproduced(actor=None, issue=escalated)
    assert selectors.labels_of(reproduced) == ["cs:standup", "defect", "product:drafting"]
    assert escalation.stage(reproduced) == Stage.PRODUCT


def test_current_is_kept_per_process_and_read_again_after_a_save(
    django_assert_num_queries: Any,
) -> None:
    workflow.forget()
    with django_assert_num_queries(1):  # lists call it once a row: one query, then none
        assert all(current() is DEFAULT for _ in range(5))
    config.save_workflow(actor=None, spec={"standup": {"remove_on_business_day": 4}})
    # The saving transaction reads its own workflow (and keeps none of it: it may roll back).
    assert current().remove_on_business_day == 4
    config.save_workflow(actor=None, spec={"standup": {"remove_on_business_day": 5}})
    assert current().remove_on_business_day == 5


def test_a_web_request_reads_the_workflow_again(django_assert_num_queries: Any) -> None:
    workflow.forget()
    current()
    with django_assert_num_queries(0):
        current()
    # As Django's test client does: the request's other receiver would close the connection.
    request_started.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
    with django_assert_num_queries(1):
        current()
        current()


def test_a_workflow_saved_and_rolled_back_is_not_kept() -> None:
    workflow.forget()

    def save_then_fail() -> None:
        with transaction.atomic():
            config.save_workflow(actor=None, spec={"labels_on_file": ["defect"]})
            assert current().bug_label == "defect"
            raise RuntimeError

    with pytest.raises(RuntimeError):
        save_then_fail()
    assert current() is DEFAULT


def test_a_playbook_without_the_section_keeps_what_is_stored(write: Write) -> None:
    apply_path(write(MINIMAL + ORGANIZATION + "  public_tracker: builtin:outside\n" + RENAMED))
    result = apply_path(write(MINIMAL))
    assert result.changes == []
    assert result.kept == [
        "  organization: not in playbook, kept",
        "  tracker public: not in playbook, kept",
        "  bug_workflow: not in playbook, kept",
    ]
    assert current().bug_label == "defect"
    assert selectors.repository("public").name == "outside"


def test_the_trackers_switch_the_repository(write: Write) -> None:
    before = selectors.repository("public")
    assert (before.backend, before.name) == ("builtin", "public")  # the settings
    text = MINIMAL + ORGANIZATION + "  public_tracker: github:example-vendor/product\n"
    result = apply_path(write(text))
    assert result.changes[-1] == "+ tracker public: github:example-vendor/product"
    public = selectors.repository("public")
    assert (public.backend, public.name, public.visibility) == (
        "github",
        "example-vendor/product",
        "public",
    )
    confidential = selectors.repository("confidential")  # not written: the settings
    assert (confidential.backend, confidential.name) == ("builtin", "confidential")

    text = MINIMAL + ORGANIZATION + "  confidential_tracker: builtin:secrets\n"
    apply_path(write(text))
    assert selectors.repository("confidential").name == "secrets"
    assert selectors.repository("public").name == "example-vendor/product"  # kept

    # An empty value goes back to the server settings.
    result = apply_path(write(MINIMAL + ORGANIZATION + '  public_tracker: ""\n'))
    assert result.changes == [
        "~ tracker public: github:example-vendor/product -> (server settings)"
    ]
    assert selectors.repository("public").name == "public"
    # Issues already filed stay where they were.
    assert TrackerRepository.objects.filter(name="example-vendor/product").exists()


@pytest.mark.parametrize(
    ("find", "replace", "where", "message"),
    [
        (
            '"product:drafting"',
            '"product,drafting"',
            "product,drafting",
            "bug_workflow.reproduced.add[0]: a label is 1 to 50 characters without commas: "
            "'product,drafting'",
        ),
        (
            "labels_on_file: [defect, triage]",
            f"labels_on_file: [defect, {'x' * 51}]",
            "x" * 51,
            f"bug_workflow.labels_on_file[1]: a label is 1 to 50 characters without commas: "
            f"'{'x' * 51}'",
        ),
        (
            "remove_on_business_day: 3",
            "remove_on_business_day: 0",
            "remove_on_business_day",
            "bug_workflow.standup.remove_on_business_day: must be 1 to 10 (business days), got 0",
        ),
        (
            "remove_on_business_day: 3",
            "remove_on_business_day: two",
            "remove_on_business_day",
            "bug_workflow.standup.remove_on_business_day: expected a whole number, got the text "
            "'two'",
        ),
        (
            "remove_on_business_day: 3}",
            "remove_on_business_day: 3, calendar: mars}",
            "calendar: mars",
            "bug_workflow.standup.calendar: unknown calendar 'mars'; known calendars: none defined",
        ),
        (
            "not_reproduced: {add: [triage]}",
            "not_reproduced: {add: [triage], colour: red}",
            "colour",
            "bug_workflow.not_reproduced.colour: unknown field 'colour' (fields here: add)",
        ),
        (
            "  plus_labels:",
            "  escalation: {}\n  plus_labels:",
            "escalation",
            "bug_workflow.escalation: unknown field 'escalation'; did you mean 'escalate'? "
            "(fields here: labels_on_file, escalate, standup, reproduced, not_reproduced, "
            "plus_labels, customer_label_prefix, feature_requests)",
        ),
        (
            "labels_on_file: [defect, triage]",
            "labels_on_file: [defect, triage, defect]",
            "triage, defect]",
            "bug_workflow.labels_on_file[2]: label 'defect' is listed twice",
        ),
        (
            "remove: [triage]",
            "remove: [triage, needs-eyes]",
            "remove:",
            "bug_workflow.escalate.remove[1]: 'needs-eyes' is both removed and added",
        ),
        (
            'add: [needs-eyes, "cs:standup"]',
            'add: ["cs:standup"]',
            'add: ["cs:standup"]',
            "bug_workflow.escalate.add: must add the stand-up label 'needs-eyes' (standup.label): "
            "escalating puts a bug on the stand-up board",
        ),
        (
            "not_reproduced: {add: [triage]}",
            'not_reproduced: {add: [triage, "product:drafting"]}',
            "not_reproduced",
            "bug_workflow.not_reproduced.add[1]: 'product:drafting' marks a bug as reproduced "
            "(reproduced.add); it cannot be added before that",
        ),
        (
            "labels_on_file: [defect, triage]",
            "labels_on_file: [defect, triage, needs-eyes]",
            "labels_on_file",
            "bug_workflow.labels_on_file[2]: 'needs-eyes' is the stand-up label (standup.label), "
            "which only escalating adds",
        ),
        (
            "labels_on_file: [defect, triage]",
            'labels_on_file: [defect, "?waiting"]',
            "labels_on_file",
            "bug_workflow.labels_on_file[1]: '?waiting' starts with the \"+\" labels' prefix '?' "
            "(plus_labels.prefix): a customer's comment would remove it",
        ),
        (
            "plus_labels:",
            "customer_label_prefix: client-\n  plus_labels:",
            "client-",
            "bug_workflow.customer_label_prefix: 'client-': accounts' labels are "
            "customer-<codename>, so the prefix is 'customer-' (another one is not supported yet)",
        ),
        (
            "ignore_bots: [Renovate]",
            "ignore_bots: [Renovate, not a login]",
            "ignore_bots",
            "bug_workflow.plus_labels.ignore_bots[1]: 'not a login' is not a GitHub login",
        ),
        (
            '{prefix: "?", ',
            '{prefix: "?", remove_when: comment_by_anyone, ',
            "remove_when",
            "bug_workflow.plus_labels.remove_when: 'comment_by_anyone': the one rule is "
            "comment_by_non_team",
        ),
    ],
)
def test_a_bad_workflow_is_refused_at_its_line(
    write: Write, find: str, replace: str, where: str, message: str
) -> None:
    assert find in RENAMED
    text = MINIMAL + RENAMED.replace(find, replace, 1)
    assert refused(write, text) == [f"FILE:{line_of(text, where)}: {message}"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "gitlab:acme/product",
            "'gitlab:acme/product' is not a tracker; write github:owner/name or builtin:name",
        ),
        (
            "acme/product",
            "'acme/product' is not a tracker; write github:owner/name or builtin:name",
        ),
        (
            "github:acme",
            "'acme' is not a GitHub repository; write github:owner/name (letters, digits, '-', "
            "and '.', '_' in the name)",
        ),
        (
            "github:-acme/product",
            "'-acme/product' is not a GitHub repository; write github:owner/name (letters, "
            "digits, '-', and '.', '_' in the name)",
        ),
        (
            "builtin:a/b",
            "'a/b' is not a built-in tracker's name: letters, digits, '.', '-', '_' (at most "
            "100), e.g. builtin:public",
        ),
    ],
)
def test_a_bad_tracker_is_refused_at_its_line(write: Write, value: str, message: str) -> None:
    text = MINIMAL + ORGANIZATION + f"  public_tracker: {value}\n"
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'public_tracker')}: organization.public_tracker: {message}"
    ]


def test_the_two_trackers_must_differ(write: Write) -> None:
    text = (
        MINIMAL
        + ORGANIZATION
        + "  public_tracker: github:acme/product\n  confidential_tracker: github:Acme/Product\n"
    )
    assert refused(write, text) == [
        f"FILE:{line_of(text, 'confidential_tracker')}: organization.confidential_tracker: "
        "github:acme/product is also the public tracker; the public one shows codenames only, "
        "so they must differ"
    ]


def test_the_calendar_may_come_from_the_database(write: Write) -> None:
    apply_path(DEMO_PLAYBOOK)  # stores the `support` calendar
    text = MINIMAL + RENAMED.replace(
        "remove_on_business_day: 3}", "remove_on_business_day: 3, calendar: support}"
    )
    result = apply_path(write(text))
    assert result.warnings == []
    assert current().calendar == "support"


def test_the_service_refuses_what_the_playbook_refuses() -> None:
    with pytest.raises(Invalid) as caught:
        config.save_workflow(actor=None, spec={"escalate": {"add": [":help-customers"]}})
    assert caught.value.field == "escalate.add"
    with pytest.raises(Invalid) as caught:
        workflow_from_spec({"standup": {"remove_on_business_day": 11}})
    assert caught.value.field == "standup.remove_on_business_day"
    with pytest.raises(Invalid) as caught:
        config.save_trackers(actor=None, public="github:acme/x", confidential="github:acme/x")
    assert caught.value.field == "confidential_tracker"
    with pytest.raises(Invalid) as caught:
        config.save_trackers(actor=None, public="svn:x")
    assert caught.value.field == "public_tracker"
    assert not TrackerSettings.objects.filter(workflow__isnull=False).exclude(workflow={}).exists()
    # The spec round-trips.
    assert workflow_from_spec(DEFAULT.to_spec()) == DEFAULT
