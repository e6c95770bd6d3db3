"""The handbook's bug workflow as data: which labels mean what, and the moves between them.

The defaults are the handbook's ("Escalate a customer bug report") and the demo playbook's
`bug_workflow` section; a playbook can rename labels (a team whose tracker spells them
differently) without touching code. `current()` is the workflow in force: the one the playbook
stored (`TrackerSettings.workflow`, written by `tracker.config.save_workflow`) over these
defaults, kept per process (see CACHE_SECONDS). `workflow_from_spec` reads the playbook's shape
(docs/playbook.md, `bug_workflow`); it is the one check of a workflow, used by the playbook and by
the service that stores it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import request_started
from django.db import connection, transaction
from django.db.models.signals import post_migrate

from ceres.core.errors import Invalid
from ceres.tracker.models import TrackerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BugWorkflow:
    labels_on_file: tuple[str, ...] = ("bug", ":incoming", ":reproduce")
    bug_label: str = "bug"
    escalate_remove: tuple[str, ...] = (":incoming", ":reproduce")
    escalate_add: tuple[str, ...] = ("~investigate", ":help-customers")
    standup_label: str = "~investigate"
    remove_on_business_day: int = 2
    calendar: str = "support"
    reproduced_add: tuple[str, ...] = (":product",)
    not_reproduced_add: tuple[str, ...] = (":incoming", ":reproduce")
    plus_prefix: str = "+"
    customer_label_prefix: str = "customer-"
    customer_request_label: str = "~customer request"
    feedback_label: str = "#g-unicorns"
    extra: dict[str, str] = field(default_factory=dict)
    # GitHub logins whose comments leave "+" labels on, besides the team's (lower case; a
    # name without "[bot]" also covers the "[bot]" account: github-actions[bot]).
    ignore_bots: tuple[str, ...] = ()
    plus_remove_when: str = "comment_by_non_team"

    def ignores_bot(self, login: str) -> bool:
        """Whether a comment by `login` is one of `ignore_bots` (leaves "+" labels on)."""
        folded = login.strip().lower()
        return bool(folded) and (
            folded in self.ignore_bots or folded.removesuffix("[bot]") in self.ignore_bots
        )

    def to_spec(self) -> dict[str, Any]:
        """The workflow in the playbook's shape, every field written out (what is stored)."""
        return {
            "labels_on_file": list(self.labels_on_file),
            "escalate": {"remove": list(self.escalate_remove), "add": list(self.escalate_add)},
            "standup": {
                "label": self.standup_label,
                "remove_on_business_day": self.remove_on_business_day,
                "calendar": self.calendar,
            },
            "reproduced": {"add": list(self.reproduced_add)},
            "not_reproduced": {"add": list(self.not_reproduced_add)},
            "plus_labels": {
                "prefix": self.plus_prefix,
                "remove_when": self.plus_remove_when,
                "ignore_bots": list(self.ignore_bots),
            },
            "customer_label_prefix": self.customer_label_prefix,
            "feature_requests": {
                "prioritized_label": self.customer_request_label,
                "feedback_label": self.feedback_label,
            },
        }

    def spec_fields(self) -> dict[str, Any]:
        """The spec's fields by dotted name ("standup.label"): what a diff and the audit list."""
        flat: dict[str, Any] = {}
        for name, value in self.to_spec().items():
            if isinstance(value, dict):
                flat.update({f"{name}.{sub}": item for sub, item in value.items()})
            else:
                flat[name] = value
        return flat


DEFAULT = BugWorkflow()

# `current()` runs for every row of some lists (a feature request's customer labels, its days
# waiting), so the workflow is kept per process rather than read each time. It is read again:
# at the start of each web request (request_started), after CACHE_SECONDS elsewhere (task
# workers), after a migrate or flush (post_migrate), and, in the process that saves it, as soon
# as the save commits. A ceres apply elsewhere is therefore in force in every web request that
# starts after it, and in workers within CACHE_SECONDS.
CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class _Cached:
    workflow: BugWorkflow
    until: float  # time.monotonic()


_cached: _Cached | None = None
# The outermost transaction that saved a workflow and has not committed: what it reads is not
# kept, since a rollback would leave the process holding a workflow the database never had.
_saving_in: object | None = None


def _outermost_transaction() -> object | None:
    blocks = connection.atomic_blocks
    return blocks[0] if blocks else None


def current() -> BugWorkflow:
    """The workflow in force: the stored one over the defaults (at most one query)."""
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() < cached.until:
        return cached.workflow
    spec = (
        TrackerSettings.objects.filter(key=TrackerSettings.SINGLETON_KEY)
        .values_list("workflow", flat=True)
        .first()
    )
    workflow = _stored(spec) if spec else DEFAULT
    if _saving_in is None or _saving_in is not _outermost_transaction():
        _cached = _Cached(workflow, time.monotonic() + CACHE_SECONDS)
    return workflow


def _stored(spec: Mapping[str, Any]) -> BugWorkflow:
    from ceres.tracker.workflow_spec import read_workflow  # it builds this module's BugWorkflow

    workflow, problems = read_workflow(spec)
    if problems:
        # Only `tracker.config.save_workflow` writes the row, and it checks first; a row
        # edited by hand still leaves the tracker working, on the defaults of the bad fields.
        log.error("stored bug workflow: %s", "; ".join(p.describe() for p in problems))
    return workflow


def saving() -> None:
    """Called by `tracker.config.save_workflow` inside its transaction: forget the workflow
    now, don't keep what this transaction reads, and forget again once it commits."""
    global _cached, _saving_in
    _cached = None
    _saving_in = _outermost_transaction()
    transaction.on_commit(forget)


def forget(**_: object) -> None:
    """Read the workflow again at the next `current()` (a signal receiver too)."""
    global _cached, _saving_in
    _cached = None
    _saving_in = None


def _forget_cached(**_: object) -> None:
    # A request may run inside a transaction that saved (a test's): forget what is kept, but
    # keep not keeping what that transaction reads.
    global _cached
    _cached = None


request_started.connect(_forget_cached, dispatch_uid="ceres.tracker.workflow.request")
post_migrate.connect(forget, dispatch_uid="ceres.tracker.workflow.migrate")


def workflow_from_spec(spec: Mapping[str, Any]) -> BugWorkflow:
    """The workflow a spec describes over the handbook's defaults; raises Invalid naming the
    first field at fault ("escalate.add[1]") when it has problems (every problem:
    `workflow_spec.read_workflow`)."""
    from ceres.tracker.workflow_spec import read_workflow  # it builds this module's BugWorkflow

    workflow, problems = read_workflow(spec)
    if problems:
        raise Invalid(problems[0].message, field=problems[0].field())
    return workflow


class Stage:
    """Where a bug stands, read from its labels (so a label changed on GitHub by hand moves
    it too): the state machine's states."""

    CLOSED = "closed"
    PRODUCT = "product"  # reproduced: on the drafting board
    INVESTIGATING = "investigating"  # ~investigate: on the stand-up board
    NEEDS_UPDATE = "needs_update"  # ~investigate came off by itself: logs and details due
    INCOMING = "incoming"  # :incoming / :reproduce: waiting for QA
    OTHER = "other"

    SHORT = {
        CLOSED: "Closed",
        PRODUCT: "Reproduced",
        INVESTIGATING: "Investigating",
        NEEDS_UPDATE: "Needs update",
        INCOMING: "Incoming",
        OTHER: "Open",
    }
    LABELS = {
        CLOSED: "Closed",
        PRODUCT: "Reproduced: on the drafting board",
        INVESTIGATING: "Investigating: on the stand-up board",
        NEEDS_UPDATE: "Needs fresh logs and details",
        INCOMING: "Incoming: waiting for QA to reproduce",
        OTHER: "Open",
    }


def stage_of(
    labels: Iterable[str], *, closed: bool, needs_update: bool, wf: BugWorkflow | None = None
) -> str:
    """The stage the labels say, in the workflow `wf` (the one in force when not given)."""
    wf = wf or current()
    names = set(labels)
    if closed:
        return Stage.CLOSED
    if any(name in names for name in wf.reproduced_add):
        return Stage.PRODUCT
    if wf.standup_label in names:
        return Stage.INVESTIGATING
    if needs_update:
        return Stage.NEEDS_UPDATE
    if any(name in names for name in wf.not_reproduced_add):
        return Stage.INCOMING
    return Stage.OTHER


# The moves of the state machine: from which stages each is allowed.
MOVES: dict[str, tuple[str, ...]] = {
    "escalate": (Stage.INCOMING, Stage.OTHER),
    "reproduced": (Stage.INVESTIGATING, Stage.NEEDS_UPDATE, Stage.INCOMING, Stage.OTHER),
    "not_reproduced": (Stage.INVESTIGATING, Stage.NEEDS_UPDATE),
}


class FeatureStage:
    """Where a feature request stands (tracker.feature_requests, the handbook's "Communicate
    feedback on prioritized customer requests"): read from its row and the issue's state, so an
    issue closed by hand on GitHub is closed here too."""

    REQUESTED = "requested"
    PRIORITIZED = "prioritized"  # ~customer request: in drafting
    WAITING = "waiting"  # released: waiting on the CSM for the customer's feedback
    NOT_MET = "not_met"  # the release is missing something: back with the product designer
    MET = "met"
    CLOSED = "closed"

    LABELS = {
        REQUESTED: "Requested",
        PRIORITIZED: "Prioritized",
        WAITING: "Waiting on the CSM",
        NOT_MET: "Missing something",
        MET: "Meets the need",
        CLOSED: "Closed",
    }
    DESCRIPTIONS = {
        REQUESTED: "Requested: waiting to be prioritized",
        PRIORITIZED: "Prioritized: in drafting",
        WAITING: "Released: waiting on the CSM for the customer's feedback",
        NOT_MET: "Missing something: back with the product designer",
        MET: "Released, and it meets the customer's needs",
        CLOSED: "Closed",
    }


def feature_stage_of(*, closed: bool, prioritized: bool, released: bool, outcome: str) -> str:
    """`outcome` is FeatureRequest.outcome: "" (none yet), "met" or "not_met"."""
    if closed:
        return FeatureStage.MET if outcome == "met" else FeatureStage.CLOSED
    if released and outcome == "not_met":
        return FeatureStage.NOT_MET
    if released and not outcome:
        return FeatureStage.WAITING
    if prioritized:
        return FeatureStage.PRIORITIZED
    return FeatureStage.REQUESTED


# A feature request's moves, from which stages each applies. Asking again while waiting hands
# the request to another CSM (or names another product designer); asking after "missing
# something" is the next release going back to the customer.
FEATURE_MOVES: dict[str, tuple[str, ...]] = {
    "prioritize": (FeatureStage.REQUESTED,),
    "ask_for_feedback": (FeatureStage.PRIORITIZED, FeatureStage.WAITING, FeatureStage.NOT_MET),
    "record_outcome": (FeatureStage.WAITING,),
    "link_account": (
        FeatureStage.REQUESTED,
        FeatureStage.PRIORITIZED,
        FeatureStage.WAITING,
        FeatureStage.NOT_MET,
    ),
}
