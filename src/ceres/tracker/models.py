"""The tracker's issues as Ceres keeps them.

Ceres holds every issue it works with: for the built-in tracker these rows *are* the tracker;
for GitHub they are the mirror, written first (in the same transaction as the change that
causes it) and replicated through the outbox, while GitHub's webhooks bring other people's
changes back. Labels, assignees and comments are rows, not JSON, so "open bugs carrying
customer-kamooalewa" and "every ~investigate issue" are indexed queries on both databases.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ceres.accounts.models import Account
from ceres.conversations.models import Conversation
from ceres.team.models import Person


class TrackerRepository(models.Model):
    """Where issues live. Two matter to the handbook: the public repository (codenames only;
    every text bound for it passes the confidentiality firewall) and the confidential one."""

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        CONFIDENTIAL = "confidential"

    class Backend(models.TextChoices):
        BUILTIN = "builtin", "Built-in"
        GITHUB = "github", "GitHub"

    name = models.CharField(max_length=140, unique=True)  # "fleetdm/fleet" on GitHub
    visibility = models.CharField(max_length=20, choices=Visibility.choices)
    backend = models.CharField(max_length=20, choices=Backend.choices)
    # The built-in tracker numbers issues per repository, as GitHub does.
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class TrackerIssue(models.Model):
    class Kind(models.TextChoices):
        BUG = "bug"
        FEATURE_REQUEST = "feature_request", "Feature request"
        OTHER = "other"

    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    repository = models.ForeignKey(TrackerRepository, on_delete=models.PROTECT, related_name="+")
    # Empty while a GitHub creation is still in the outbox.
    number = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(max_length=256)
    body = models.TextField(blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    author_login = models.CharField(max_length=39, blank=True, default="")
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # GitHub's updated_at of the last snapshot applied: an older redelivery changes nothing.
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # The stand-up board: since when the issue carries ~investigate, and the timer at which
    # the label comes off by itself (the handbook's "second business day").
    on_board_since = models.DateTimeField(null=True, blank=True)
    board_expires_at = models.DateTimeField(null=True, blank=True)
    # Set when ~investigate came off by itself: logs, reproduction steps and details are due.
    needs_update_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"],
                condition=Q(number__isnull=False),
                name="tracker_issue_number",
            )
        ]
        indexes = [
            models.Index(
                fields=["board_expires_at"],
                condition=Q(board_expires_at__isnull=False),
                name="tracker_issue_board_timer",
            ),
            models.Index(fields=["state", "kind", "-created_at"], name="tracker_issue_state_kind"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def web_url(self) -> str:
        """Where people outside Ceres see the issue: GitHub's page ("" for the built-in one)."""
        if self.repository.backend != TrackerRepository.Backend.GITHUB or not self.number:
            return ""
        return f"https://github.com/{self.repository.name}/issues/{self.number}"

    @property
    def reference(self) -> str:
        number = f"#{self.number}" if self.number else f"(pending {self.pk})"
        return f"{self.repository.name}{number}"


class IssueLabel(models.Model):
    issue = models.ForeignKey(TrackerIssue, on_delete=models.CASCADE, related_name="label_rows")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["issue", "name"], name="tracker_label_once")]
        indexes = [models.Index(fields=["name", "issue"], name="tracker_label_name")]

    def __str__(self) -> str:
        return self.name


class IssueAssignee(models.Model):
    issue = models.ForeignKey(TrackerIssue, on_delete=models.CASCADE, related_name="assignee_rows")
    login = models.CharField(max_length=39)

    class Meta:
        ordering = ["login"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "login"], name="tracker_assignee_once")
        ]

    def __str__(self) -> str:
        return self.login


class IssueComment(models.Model):
    issue = models.ForeignKey(TrackerIssue, on_delete=models.CASCADE, related_name="comments")
    # GitHub's comment id; empty for the built-in tracker and until the outbox posted it.
    remote_id = models.BigIntegerField(null=True, blank=True)
    author_login = models.CharField(max_length=39, blank=True, default="")
    author = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "remote_id"],
                condition=Q(remote_id__isnull=False),
                name="tracker_comment_remote_once",
            )
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.issue_id}"


class BugReport(models.Model):
    """The handbook's "File a customer bug report": the required details, the nice-to-have
    ones, and where it came from."""

    class AgentKind(models.TextChoices):
        OSQUERY = "osquery"
        FLEETD = "fleetd"

    issue = models.OneToOneField(
        TrackerIssue, on_delete=models.CASCADE, primary_key=True, related_name="bug_report"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="bug_reports")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="bug_reports"
    )
    filed_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    server_version = models.CharField(max_length=50)
    agent_version = models.CharField(max_length=50)
    agent_kind = models.CharField(max_length=10, choices=AgentKind.choices)
    operating_system = models.CharField(max_length=200)
    web_browser = models.CharField(max_length=200)
    expected_behavior = models.TextField()
    actual_behavior = models.TextField()
    reproduction_steps = models.TextField()
    # True when the team could not reproduce it: the steps are the customer's.
    steps_from_customer = models.BooleanField(default=False)
    # The nice-to-have details ({"total_hosts": 4000, ...}; see tracker.bugs.DETAILS).
    details = models.JSONField(default=dict, blank=True)
    debug_archive = models.FileField(upload_to="debug-archives/%Y/%m/", blank=True, default="")
    # Details that may not go public (real names, hostnames): an issue in the confidential
    # repository that links to the public one.
    confidential_issue = models.ForeignKey(
        TrackerIssue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"bug report {self.pk}"


class StandupAcknowledgement(models.Model):
    """The manager's acknowledgement of an ~investigate issue at one day's stand-up; it is
    also a comment on the issue."""

    issue = models.ForeignKey(TrackerIssue, on_delete=models.CASCADE, related_name="acks")
    day = models.DateField()
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey(
        IssueComment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "day"], name="tracker_ack_once_a_day")
        ]

    def __str__(self) -> str:
        return f"ack of {self.issue_id} on {self.day}"


class InvestigationBlock(models.Model):
    """A block of investigation time, at most one hour (the handbook's timebox)."""

    issue = models.ForeignKey(TrackerIssue, on_delete=models.CASCADE, related_name="blocks")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    # When Ceres asked whether to escalate (the block ran past its hour).
    escalation_prompted_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(stopped_at__isnull=True),
                name="tracker_one_running_block",
            )
        ]
        indexes = [
            models.Index(
                fields=["ends_at"],
                condition=Q(stopped_at__isnull=True, escalation_prompted_at__isnull=True),
                name="tracker_block_timer",
            )
        ]

    def __str__(self) -> str:
        return f"block {self.pk} on {self.issue_id}"


class FeatureRequest(models.Model):
    """The handbook's "Communicate feedback on prioritized customer requests". The accounts
    that asked are the issue's customer labels (codenames, as the public tracker shows)."""

    class Outcome(models.TextChoices):
        NONE = "", "Waiting"
        MET = "met", "Meets the need"
        NOT_MET = "not_met", "Missing something"

    issue = models.OneToOneField(
        TrackerIssue, on_delete=models.CASCADE, primary_key=True, related_name="feature_request"
    )
    prioritized_at = models.DateTimeField(null=True, blank=True)
    product_designer = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    csm = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Timer: the next reminder to the CSM while the outcome is not recorded.
    remind_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    outcome_at = models.DateTimeField(null=True, blank=True)
    evidence_link = models.URLField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"feature request {self.pk}"


class TrackerSettings(models.Model):
    """The tracker's configuration as the playbook writes it (`bug_workflow`,
    `organization.public_tracker` / `confidential_tracker`): one row, key "default".

    `workflow` holds the bug workflow in the playbook's shape, every field written out
    (`tracker.workflow.BugWorkflow.to_spec`); empty means the handbook's defaults. A blank
    tracker ("github:owner/name" or "builtin:name") means the server settings
    (CERES_TRACKER_BACKEND and CERES_TRACKER_PUBLIC_REPO / CERES_TRACKER_CONFIDENTIAL_REPO).
    Written only through `tracker.config`.
    """

    SINGLETON_KEY = "default"

    key = models.CharField(max_length=20, unique=True, default=SINGLETON_KEY)
    workflow = models.JSONField(default=dict, blank=True)
    public_tracker = models.CharField(max_length=160, blank=True, default="")
    confidential_tracker = models.CharField(max_length=160, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "tracker settings"

    def __str__(self) -> str:
        return f"tracker settings {self.key}"
