"""Reads of feature requests: the lists (waiting on a CSM, prioritized, all), the rows as the
pages show them (accounts by codename), and the choices of the forms.

A list costs a fixed number of queries however long it is: the requests with their issue and
people, the issues' labels, and one query for the accounts behind every customer label shown.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from ceres.accounts.models import Account
from ceres.core.errors import Invalid, NotFound
from ceres.team.models import Person
from ceres.tracker.feature_requests import customer_labels, stage_of
from ceres.tracker.models import FeatureRequest, IssueLabel, TrackerIssue
from ceres.tracker.workflow import FeatureStage

# The list page's tabs: (key, label).
TABS: tuple[tuple[str, str], ...] = (
    ("waiting", "Waiting on a CSM"),
    ("prioritized", "Prioritized"),
    ("all", "All"),
)
# The badge (a class of ceres.css) each stage shows with.
BADGES = {
    FeatureStage.REQUESTED: "badge-muted",
    FeatureStage.PRIORITIZED: "badge-status-open",
    FeatureStage.WAITING: "badge-p2",
    FeatureStage.NOT_MET: "badge-p1",
    FeatureStage.MET: "badge-done",
    FeatureStage.CLOSED: "badge-muted",
}
# Role keys listed first in the people pickers (anyone active with a GitHub login may be chosen).
CSM_ROLE = "csm"
PRODUCT_DESIGNER_ROLE = "product-designer"


def _base() -> QuerySet[FeatureRequest]:
    return FeatureRequest.objects.select_related(
        "issue__repository", "csm", "product_designer"
    ).prefetch_related(
        Prefetch("issue__label_rows", queryset=IssueLabel.objects.order_by("name")),
        "issue__assignee_rows",
    )


def _waiting() -> Q:
    return Q(
        released_at__isnull=False,
        outcome=FeatureRequest.Outcome.NONE,
        issue__state=TrackerIssue.State.OPEN,
    )


def waiting_on_csm(*, csm: Person | None = None) -> QuerySet[FeatureRequest]:
    """Released and no outcome yet: the CSM is to bring the release to the customer. Oldest
    release first (the most overdue). One CSM's, or everyone's."""
    qs = _base().filter(_waiting())
    if csm is not None:
        qs = qs.filter(csm=csm)
    return qs.order_by("released_at", "pk")


def prioritized() -> QuerySet[FeatureRequest]:
    """Prioritized and with Product: in drafting, or back after "missing something"."""
    return (
        _base()
        .filter(prioritized_at__isnull=False, issue__state=TrackerIssue.State.OPEN)
        .filter(Q(released_at__isnull=True) | Q(outcome=FeatureRequest.Outcome.NOT_MET))
        .order_by("prioritized_at", "pk")
    )


def all_requests() -> QuerySet[FeatureRequest]:
    return _base().order_by("-issue__created_at", "-pk")


def requests_for(show: str, *, csm: Person | None = None) -> QuerySet[FeatureRequest]:
    if show == "waiting":
        return waiting_on_csm(csm=csm)
    qs = prioritized() if show == "prioritized" else all_requests() if show == "all" else None
    if qs is None:
        raise Invalid("must be waiting, prioritized or all", field="show")
    return qs.filter(csm=csm) if csm is not None else qs


def is_overdue(request: FeatureRequest, now: datetime.datetime) -> bool:
    """Waiting past the first due time (a reminder went, or is due)."""
    if request.released_at is None or request.outcome:
        return False
    return request.reminders_sent > 0 or (
        request.remind_at is not None and request.remind_at <= now
    )


def waiting_summary(*, now: datetime.datetime | None = None) -> list[tuple[Person, int, int]]:
    """(CSM, requests waiting on them, of which overdue), most waiting first."""
    now = now or timezone.now()
    overdue = Q(reminders_sent__gt=0) | Q(remind_at__lte=now)
    counts = (
        FeatureRequest.objects.filter(_waiting(), csm__isnull=False)
        .values("csm")
        .annotate(waiting=Count("pk"), overdue=Count("pk", filter=overdue))
        .order_by()
    )
    by_id = {row["csm"]: (row["waiting"], row["overdue"]) for row in counts}
    people = Person.objects.filter(pk__in=by_id).order_by("name")
    rows = [(person, *by_id[person.pk]) for person in people]
    return sorted(rows, key=lambda row: -row[1])


@dataclass(frozen=True)
class FeatureRow:
    request: FeatureRequest
    issue: TrackerIssue
    stage: str
    stage_label: str
    stage_description: str
    badge: str
    codenames: list[str]
    days_waiting: int | None
    overdue: bool


def rows(
    requests: Iterable[FeatureRequest], *, now: datetime.datetime | None = None
) -> list[FeatureRow]:
    """The requests as the pages show them: accounts by codename (a customer label that names
    no account shows as the label), days waiting on the CSM, overdue."""
    now = now or timezone.now()
    requests = list(requests)
    labels = {label for r in requests for label in customer_labels(r.issue)}
    codenames = dict(
        Account.objects.filter(github_label__in=labels).values_list(
            "github_label", "codename__name"
        )
    )
    shown = []
    for request in requests:
        issue = request.issue
        stage = stage_of(request, issue)
        released = request.released_at
        waiting = stage == FeatureStage.WAITING and released is not None
        shown.append(
            FeatureRow(
                request=request,
                issue=issue,
                stage=stage,
                stage_label=FeatureStage.LABELS[stage],
                stage_description=FeatureStage.DESCRIPTIONS[stage],
                badge=BADGES[stage],
                codenames=[codenames.get(label, label) for label in customer_labels(issue)],
                days_waiting=(now - released).days if waiting and released else None,
                overdue=waiting and is_overdue(request, now),
            )
        )
    return shown


def waiting_rows(
    *, csm: Person | None = None, now: datetime.datetime | None = None
) -> list[FeatureRow]:
    """The waiting-on-CSM list with days waiting and the overdue flag: one CSM's or all."""
    return rows(waiting_on_csm(csm=csm), now=now)


def get_request(issue_id: int) -> FeatureRequest:
    request = _base().filter(issue_id=issue_id).first()
    if request is None:
        raise NotFound("the issue is not a feature request", field="issue_id")
    return request


# --- the forms' choices and their answers --------------------------------------------------


def people_choices(first_role: str) -> list[tuple[str, str]]:
    """Active people with a GitHub login (the moves assign and @-mention logins), the role
    the move expects first."""
    people = Person.objects.filter(is_active=True).exclude(github_login="").select_related("role")
    ordered = sorted(people, key=lambda p: (p.role.key != first_role, p.name.lower(), p.pk))
    return [(str(p.pk), f"{p.name} (@{p.github_login}) · {p.role.name}") for p in ordered]


def account_choices(*, exclude_labels: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Accounts by codename (the request is public: codenames only, whoever looks)."""
    qs = Account.objects.select_related("codename").exclude(github_label__in=list(exclude_labels))
    return [(str(a.pk), a.codename.name) for a in qs.order_by("codename__name")]


def person_for(value: str, *, field: str) -> Person:
    value = (value or "").strip()
    if not value:
        raise Invalid("choose a person", field=field)
    valid = value.isdigit() and len(value) <= 18
    person = Person.objects.filter(pk=int(value)).first() if valid else None
    if person is None:
        raise Invalid("no such person", field=field)
    return person


def optional_person_for(value: str, *, field: str) -> Person | None:
    return person_for(value, field=field) if (value or "").strip() else None


def accounts_for(values: Sequence[str], *, field: str) -> list[Account]:
    ids: list[int] = []
    for value in values:
        value = str(value).strip()
        if not value.isdigit() or len(value) > 18:
            raise Invalid(f"not an account: {value[:40]!r}", field=field)
        ids.append(int(value))
    found = {a.pk: a for a in Account.objects.select_related("codename").filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(f"no such account: {missing[0]}", field=field)
    return [found[i] for i in dict.fromkeys(ids)]
