"""The handbook's "File a customer bug report": the required details, the nice-to-have ones,
the body rendered from them, the labels, and "same issue" instead of a duplicate.

The public issue names the customer by codename label only. Every field bound for it passes
the confidentiality firewall on its own, so a refusal names the form field, the line and the
word; details that may not go public go to an issue in the confidential repository instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from ceres.accounts.models import Account
from ceres.conversations import services as conversation_services
from ceres.conversations.models import Conversation
from ceres.core.audit.services import Actor, record_change
from ceres.core.errors import ConfidentialLeak, Invalid
from ceres.team.models import Person
from ceres.tracker import selectors, services
from ceres.tracker.models import BugReport, TrackerIssue, TrackerRepository
from ceres.tracker.workflow import current

# The handbook's required details, in its order: (field, label).
REQUIRED: tuple[tuple[str, str], ...] = (
    ("server_version", "Product server version"),
    ("agent_version", "Agent version"),
    ("agent_kind", "Agent kind (osquery or fleetd)"),
    ("operating_system", "Operating system"),
    ("web_browser", "Web browser"),
    ("expected_behavior", "Expected behavior"),
    ("actual_behavior", "Actual behavior"),
    ("reproduction_steps", "Reproduction steps"),
)
SHORT_FIELDS = ("server_version", "agent_version", "operating_system", "web_browser")
SHORT_MAX = {"server_version": 50, "agent_version": 50, "operating_system": 200, "web_browser": 200}
TEXT_MAX = 20_000

# The nice-to-have details: (key, label, kind) where kind is "count", "text" or "yes_no".
DETAILS: tuple[tuple[str, str, str], ...] = (
    ("total_hosts", "Total hosts", "count"),
    ("online_hosts", "Online hosts", "count"),
    ("scheduled_queries", "Scheduled queries", "count"),
    ("instances", "Product instances: count and size (CPU/memory)", "text"),
    ("instance_usage", "Instances' CPU and memory use while it happens", "text"),
    ("mysql_version", "MySQL flavor and version", "text"),
    ("mysql_capacity", "MySQL server capacity (CPU/memory)", "text"),
    ("mysql_usage", "MySQL CPU and memory use while it happens", "text"),
    ("mysql_read_replicas", "MySQL read replicas (how many; 0 for none)", "count"),
    ("redis_version", "Redis version and server capacity (CPU/memory)", "text"),
    ("redis_cluster_mode", "Redis in cluster mode", "yes_no"),
    ("redis_usage", "Redis CPU and memory use while it happens", "text"),
)
DETAIL_TEXT_MAX = 500
MAX_COUNT = 2_147_483_647
ARCHIVE_MAX_BYTES = 100 * 1024 * 1024


@dataclass
class BugReportInput:
    title: str = ""
    server_version: str = ""
    agent_version: str = ""
    agent_kind: str = ""
    operating_system: str = ""
    web_browser: str = ""
    expected_behavior: str = ""
    actual_behavior: str = ""
    reproduction_steps: str = ""
    steps_from_customer: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    confidential_details: str = ""


def missing_fields(data: BugReportInput) -> list[str]:
    """The required fields left empty, in the handbook's order."""
    missing = [] if data.title.strip() else ["title"]
    return missing + [name for name, _label in REQUIRED if not str(getattr(data, name)).strip()]


def clean(data: BugReportInput) -> BugReportInput:
    """Check every field; the first problem raises Invalid naming its field (a form shows all
    of them at once through the same rules: tracker.forms)."""
    missing = missing_fields(data)
    if missing:
        labels = dict(REQUIRED) | {"title": "Title"}
        raise Invalid("required: " + ", ".join(labels[name] for name in missing), field=missing[0])
    if data.agent_kind not in BugReport.AgentKind.values:
        raise Invalid("must be osquery or fleetd", field="agent_kind")
    for name in SHORT_FIELDS:
        value = " ".join(str(getattr(data, name)).split())
        if len(value) > SHORT_MAX[name]:
            raise Invalid(f"at most {SHORT_MAX[name]} characters", field=name)
        setattr(data, name, value)
    for name in ("expected_behavior", "actual_behavior", "reproduction_steps"):
        value = services.clean_body(str(getattr(data, name)).strip(), field=name)
        if len(value) > TEXT_MAX:
            raise Invalid(f"at most {TEXT_MAX} characters", field=name)
        setattr(data, name, value)
    data.title = services.clean_title(data.title)
    data.details = clean_details(data.details)
    data.confidential_details = services.clean_body(
        data.confidential_details.strip(), field="confidential_details"
    )
    return data


def clean_details(details: dict[str, Any]) -> dict[str, Any]:
    known = {key: kind for key, _label, kind in DETAILS}
    cleaned: dict[str, Any] = {}
    for key, value in details.items():
        if key not in known:
            raise Invalid(f"unknown detail {key!r}", field=f"details.{key}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        kind = known[key]
        if kind == "count":
            text = str(value).replace(",", "").replace("_", "").strip()
            if not re.fullmatch(r"\d{1,10}", text) or int(text) > MAX_COUNT:
                raise Invalid("a whole number of 0 or more", field=key)
            cleaned[key] = int(text)
        elif kind == "yes_no":
            text = str(value).strip().lower()
            if text not in ("yes", "no"):
                raise Invalid("yes or no", field=key)
            cleaned[key] = text
        else:
            text = " ".join(str(value).split())
            if len(text) > DETAIL_TEXT_MAX or "\x00" in text:
                raise Invalid(f"at most {DETAIL_TEXT_MAX} characters", field=key)
            cleaned[key] = text
    return cleaned


def public_texts(data: BugReportInput) -> dict[str, str]:
    """Each text of the form that ends up in the public issue, by field."""
    texts = {"title": data.title}
    texts.update({name: str(getattr(data, name)) for name, _label in REQUIRED})
    texts.update({key: str(value) for key, value in data.details.items()})
    return texts


def firewall_problems(data: BugReportInput) -> dict[str, str]:
    """Every field of the public issue that names a customer, with the firewall's message: the
    form shows them all at once, each on its field."""
    public = selectors.repository(TrackerRepository.Visibility.PUBLIC)
    problems: dict[str, str] = {}
    for name, text in public_texts(data).items():
        try:
            services.check_public(public, {name: text})
        except ConfidentialLeak as exc:
            problems[name] = exc.message
    return problems


def render_body(data: BugReportInput, account: Account, *, has_archive: bool) -> str:
    label = account.github_label
    agent = f"{data.agent_kind} {data.agent_version}"
    steps_title = (
        "Steps the customer took (the team could not reproduce it)"
        if data.steps_from_customer
        else "Steps to reproduce"
    )
    lines = [
        f"Customer: `{label}`",
        "",
        f"- **Product server version:** {data.server_version}",
        f"- **Agent:** {agent}",
        f"- **Operating system:** {data.operating_system}",
        f"- **Web browser:** {data.web_browser}",
        "",
        "### Expected behavior",
        data.expected_behavior,
        "",
        "### Actual behavior",
        data.actual_behavior,
        "",
        f"### {steps_title}",
        data.reproduction_steps,
    ]
    shown = [(label_, data.details[key]) for key, label_, _kind in DETAILS if key in data.details]
    if shown:
        lines += ["", "### Details", "", "| | |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in shown]
    if has_archive:
        lines += ["", "The debug archive (`fleetctl debug archive`) is attached in Ceres."]
    return "\n".join(lines)


@transaction.atomic
def file_bug_report(
    *,
    actor: Actor,
    account: Account,
    data: BugReportInput,
    filed_by: Person | None,
    conversation: Conversation | None = None,
    debug_archive: UploadedFile | None = None,
) -> BugReport:
    """A new issue in the public repository with `bug`, `:incoming`, `:reproduce` and the
    account's customer label; the details that may not go public in a confidential issue."""
    data = clean(data)
    if debug_archive is not None and debug_archive.size and debug_archive.size > ARCHIVE_MAX_BYTES:
        raise Invalid(f"at most {ARCHIVE_MAX_BYTES // 2**20} MB", field="debug_archive")
    public = selectors.repository(TrackerRepository.Visibility.PUBLIC)
    services.check_public(public, public_texts(data))
    wf = current()
    issue = services.open_issue(
        actor=actor,
        repository=public,
        title=data.title,
        body=render_body(data, account, has_archive=debug_archive is not None),
        kind=TrackerIssue.Kind.BUG,
        labels=[*wf.labels_on_file, account.github_label],
        created_by=filed_by,
    )
    report = BugReport.objects.create(
        issue=issue,
        account=account,
        conversation=conversation,
        filed_by=filed_by,
        server_version=data.server_version,
        agent_version=data.agent_version,
        agent_kind=data.agent_kind,
        operating_system=data.operating_system,
        web_browser=data.web_browser,
        expected_behavior=data.expected_behavior,
        actual_behavior=data.actual_behavior,
        reproduction_steps=data.reproduction_steps,
        steps_from_customer=data.steps_from_customer,
        details=data.details,
    )
    if debug_archive is not None:
        report.debug_archive.save(debug_archive.name or "debug-archive", debug_archive, save=True)
    if data.confidential_details:
        report.confidential_issue = services.open_issue(
            actor=actor,
            repository=selectors.repository(TrackerRepository.Visibility.CONFIDENTIAL),
            title=f"{account.github_label}: {data.title}"[: services.MAX_TITLE],
            body=f"Confidential details of {issue.reference}:\n\n{data.confidential_details}",
            kind=TrackerIssue.Kind.BUG,
            labels=[account.github_label],
            created_by=filed_by,
        )
        report.save(update_fields=["confidential_issue"])
    if conversation is not None:
        conversation_services.add_note(
            actor=actor,
            conversation=conversation,
            body=f"Bug report filed: {issue.reference} “{issue.title}”.",
        )
    record_change(
        actor=actor,
        action="tracker.bug_report.file",
        target=issue,
        target_label=issue.reference,
        changes={"account": [None, account.codename.name], "title": [None, data.title]},
    )
    return report


@transaction.atomic
def same_issue(
    *,
    actor: Actor,
    issue: TrackerIssue,
    account: Account,
    person: Person | None,
    note: str = "",
    conversation: Conversation | None = None,
) -> TrackerIssue:
    """The customer has an issue that already exists: add their label and a comment to it
    instead of filing a duplicate. Twice for the same customer adds nothing more."""
    if issue.state != TrackerIssue.State.OPEN:
        raise Invalid("the issue is closed: reopen it or file a new one", field="issue")
    services.check_public(issue.repository, {"note": note})
    added, _ = services.change_labels(
        actor=actor, issue=issue, add=[account.github_label], action="tracker.same_issue"
    )
    if added:
        body = f"Also affects customer `{account.github_label}`."
        if note.strip():
            body += f"\n\n{note.strip()}"
        services.add_comment(actor=actor, issue=issue, body=body, author=person)
        if conversation is not None:
            conversation_services.add_note(
                actor=actor,
                conversation=conversation,
                body=f"Same issue as {issue.reference} “{issue.title}”: customer label added.",
            )
    return issue
