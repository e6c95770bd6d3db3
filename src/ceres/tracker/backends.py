"""One tracker interface, two implementations.

Services change Ceres's rows first, in their transaction, then tell the repository's backend.
The built-in backend has nothing more to do (the rows are the tracker) except numbering new
issues; the GitHub backend (registered by the `github` app) writes outbox messages in the same
transaction, so a change reaches GitHub once, after commit, through outages and rate limits.
`key` is the idempotency key of the change: a retried service call makes no second effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.db.models import F

from ceres.core.errors import Invalid
from ceres.tracker.models import IssueComment, TrackerIssue, TrackerRepository


class TrackerBackend(Protocol):
    def issue_opened(self, issue: TrackerIssue, *, key: str) -> None: ...

    def labels_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None: ...

    def assignees_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None: ...

    def commented(self, issue: TrackerIssue, comment: IssueComment, *, key: str) -> None: ...

    def state_changed(self, issue: TrackerIssue, *, key: str) -> None: ...


class BuiltinBackend:
    """The tracker inside Ceres: issues are numbered per repository; nothing leaves."""

    def issue_opened(self, issue: TrackerIssue, *, key: str) -> None:
        TrackerRepository.objects.filter(pk=issue.repository_id).update(
            last_number=F("last_number") + 1
        )
        number = (
            TrackerRepository.objects.filter(pk=issue.repository_id)
            .values_list("last_number", flat=True)
            .get()
        )
        issue.number = number
        issue.save(update_fields=["number"])

    def labels_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None:
        return None

    def assignees_changed(
        self, issue: TrackerIssue, *, added: Sequence[str], removed: Sequence[str], key: str
    ) -> None:
        return None

    def commented(self, issue: TrackerIssue, comment: IssueComment, *, key: str) -> None:
        return None

    def state_changed(self, issue: TrackerIssue, *, key: str) -> None:
        return None


_backends: dict[str, TrackerBackend] = {TrackerRepository.Backend.BUILTIN: BuiltinBackend()}


def register_backend(name: str, backend: TrackerBackend) -> None:
    _backends[name] = backend


def backend_for(repository: TrackerRepository) -> TrackerBackend:
    backend = _backends.get(repository.backend)
    if backend is None:
        raise Invalid(f"no tracker backend {repository.backend!r}", field="backend")
    return backend
