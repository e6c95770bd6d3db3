"""How the conversation pages show time and names: countdowns, the state of an SLA clock, and
the masking of confidential names inside texts a viewer may read but not fully see.

Pure functions over values the views have already read; no queries here. The countdown text
is the same as `ceres.js` renders every second, so a page reads the same without JavaScript.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from ceres.accounts.selectors import Viewer, display_name
from ceres.conversations.models import Conversation
from ceres.core.firewall import find_confidential
from ceres.sla.models import SlaClock

SOON = datetime.timedelta(hours=2)  # the inbox's "breaching soon" window, in amber
MASK = "[confidential]"


def span_text(seconds: float) -> str:
    """42s, 42m, 2h 10m, 3d 4h: whole units, rounded down, the zero part left out."""
    whole = int(max(seconds, 0))
    if whole < 60:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


@dataclass(frozen=True)
class Countdown:
    due: datetime.datetime
    text: str  # "due in 42m" or "overdue 5m"
    css: str  # "overdue", "soon" or ""

    @property
    def overdue(self) -> bool:
        return self.css == "overdue"


def countdown(due: datetime.datetime, now: datetime.datetime) -> Countdown:
    left = (due - now).total_seconds()
    if left < 0:
        return Countdown(due, f"overdue {span_text(-left)}", "overdue")
    return Countdown(
        due, f"due in {span_text(left)}", "soon" if left <= SOON.total_seconds() else ""
    )


TARGET_LABELS: dict[str, str] = dict(SlaClock.Target.choices)


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as a person reads it. `state` is one of running, breached, paused, met
    and late; `countdown` is set while the clock runs."""

    clock: SlaClock
    label: str
    state: str
    countdown: Countdown | None
    length: str  # "4h business (support)" or "24h"
    remaining: str  # what is left of a paused clock

    @property
    def policy_key(self) -> str:
        return self.clock.policy.key if self.clock.policy else ""


def clock_view(clock: SlaClock, now: datetime.datetime) -> ClockView:
    length = span_text(clock.length_seconds)
    if clock.kind == SlaClock.Kind.BUSINESS:
        length += " business" + (f" ({clock.calendar.key})" if clock.calendar else "")
    ticking: Countdown | None = None
    remaining = ""
    if clock.stopped_at is not None:
        state = "met" if clock.met else "late"
    elif clock.paused_at is not None:
        state = "paused"
        left = clock.remaining_seconds_at_pause or 0.0
        remaining = f"{span_text(left)} left" if left >= 0 else f"{span_text(-left)} over"
    else:
        ticking = countdown(clock.due_at, now)
        state = "breached" if ticking.overdue or clock.breached_at else "running"
    label = TARGET_LABELS.get(clock.target, clock.target)
    return ClockView(clock, label, state, ticking, length, remaining)


def clock_views(clocks: Iterable[SlaClock], now: datetime.datetime) -> list[ClockView]:
    return [clock_view(clock, now) for clock in clocks]


class Masker:
    """Replaces confidential names (a customer's legal name, its people, the requester) in a
    text with "[confidential]", for viewers without `accounts.view_confidential`.

    Matching is the firewall's: folded words on word boundaries. A requester's single names
    (three letters or more) are masked too, so "Hi Wile," does not give "Wile Coyote" away.
    An empty masker (no names) returns texts unchanged.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        wanted: set[str] = set()
        for name in names:
            name = " ".join(str(name).split())
            if name:
                wanted.add(name)
        self.names = sorted(wanted)

    @classmethod
    def for_requester(
        cls,
        *,
        legal_name: str,
        requester_name: str,
        requester_email: str,
        others: Iterable[str] = (),
    ) -> Masker:
        parts = [w for w in requester_name.split() if len(w) >= 3]
        local_part = requester_email.split("@", 1)[0]
        return cls([legal_name, requester_name, requester_email, local_part, *parts, *others])

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, text: str) -> str:
        if not self.names or not text:
            return text
        findings = find_confidential(text, self.names)
        if not findings:
            return text
        pieces: list[str] = []
        position = 0
        # The longest match at a place wins ("wile@acme.example" over "wile").
        for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
            if finding.start < position:  # overlapping matches: the first one masked it
                continue
            pieces.append(text[position : finding.start])
            pieces.append(MASK)
            position = finding.end
        pieces.append(text[position:])
        return "".join(pieces)


def masker_for(conversation: Conversation, *, visible: bool, others: Iterable[str] = ()) -> Masker:
    """Nothing to mask for a viewer who may see the requester (or of a conversation with no
    account); else the customer's legal name, the requester, and `others` (its contacts)."""
    if visible or conversation.account is None:
        return Masker()
    return Masker.for_requester(
        legal_name=conversation.account.legal_name,
        requester_name=conversation.requester_name,
        requester_email=conversation.requester_email,
        others=others,
    )


def account_label(conversation: Conversation, user: Viewer) -> str:
    """The account as this viewer may see it: the real name or the codename ("" for none)."""
    if conversation.account is None:
        return ""
    return display_name(conversation.account, user)
