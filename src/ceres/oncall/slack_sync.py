"""The Slack on-call user groups (`@oncall`, `@infrastructure-oncall`) kept in step with who is on
call: the handbook's "take ownership of the @infrastructure-oncall alias first thing Monday
morning", done by Ceres at the handoff.

A periodic job (`oncall.usergroup-sync`, every minute) asks each schedule with a user group who
is on call now (the final schedule: an override counts) and, when that person's Slack id is not
what was last sent (`slack_usergroup_users`), writes `usergroups.users.update` to the outbox in
the same transaction as the new `slack_usergroup_users`. So a handoff reaches Slack within a
minute, once, and survives a Slack outage (the outbox retries; the user group's ordering key
keeps the updates in order).

Decisions:
- The schedule row is locked (`select_for_update`) while it is compared and written, so two
  workers running the job at once never both send. The idempotency key names the change: the
  schedule, the shift's start, the users, and the state it replaces (the previous sync's time);
  the same handoff computed twice from the same state is the same outbox row, a no-op, while a
  later change back to an earlier person (an override removed) is a new key and is sent.
- Slack refuses an empty user group, so in a gap (nobody on call), or when the person on call
  has no Slack id or has left the team, the group is left as it was and a warning is logged
  (once per process and shift, not every minute). A gap is announced ahead of time by the gap
  job (`ceres.oncall.gaps`) instead.
- The group's id comes from `slack_usergroup_id`, or is looked up once by
  `slack_usergroup_handle` with `usergroups.list` (a read, made directly, not through the
  outbox) and stored. A failed look-up is logged and that schedule waits for the next run;
  the other schedules go on.
- Without CERES_SLACK_BOT_TOKEN the updates wait in the outbox like every Slack message; only
  the look-up by handle cannot be made and is skipped (logged).
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from slack_sdk.errors import SlackApiError

from ceres.core.audit.services import acting_as, record_change
from ceres.core.outbox.services import enqueue
from ceres.oncall import selectors
from ceres.oncall.models import OnCallSchedule
from ceres.oncall.schedule import final_schedule
from ceres.slack.client import SLACK_OPERATOR_ERRORS, error_code, web_client
from ceres.team.models import Person

log = logging.getLogger(__name__)

ACTOR = "on-call user group sync"
# How far back the current shift's start is looked for (it names the change in the key).
SHIFT_LOOKBACK = selectors.LOOK_AHEAD
_INSTANT = datetime.timedelta(microseconds=1)
_USERGROUP_ID = re.compile(r"S[A-Z0-9]{2,19}")  # what `slack_usergroup_id` holds
_MAX_WARNED = 1_000
# (schedule id, what): warnings already logged by this process, so a night-long gap is one
# warning, not one a minute.
_warned: set[tuple[int, str]] = set()


def _warn_once(schedule: OnCallSchedule, what: str, message: str, *args: object) -> None:
    key = (schedule.pk, what)
    if key in _warned:
        log.debug(message, *args)
        return
    if len(_warned) >= _MAX_WARNED:
        _warned.clear()
    _warned.add(key)
    log.warning(message, *args)


def _stamp(instant: datetime.datetime) -> str:
    return instant.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass(frozen=True)
class OnCallShift:
    """Who is on call at an instant (None: a gap) and since when (at most SHIFT_LOOKBACK back)."""

    person: Person | None
    start: datetime.datetime


def current_shift(schedule: OnCallSchedule, now: datetime.datetime) -> OnCallShift:
    since = now - SHIFT_LOOKBACK
    engine = selectors.engine_schedule(schedule, overrides_from=since)
    shift = final_schedule(engine, since, now + _INSTANT)[-1]
    person = None
    if shift.person is not None:
        person = Person.objects.filter(pk=int(shift.person)).first()
    return OnCallShift(person=person, start=shift.start)


# --- the user group's id -----------------------------------------------------------------------


class _Directory:
    """The workspace's user groups by handle, read once per run with `usergroups.list`, only
    when a schedule needs it. A failed read is remembered for the run (logged once)."""

    def __init__(self) -> None:
        self._by_handle: dict[str, str] | None = None
        self._failed = False

    @property
    def failed(self) -> bool:
        return self._failed

    def lookup(self, handle: str) -> str | None:
        if self._by_handle is None and not self._failed:
            self._by_handle = self._read()
            self._failed = self._by_handle is None
        if self._by_handle is None:
            return None
        return self._by_handle.get(handle)

    @staticmethod
    def _read() -> dict[str, str] | None:
        try:
            answer = web_client().usergroups_list(include_disabled=False)
        except SlackApiError as exc:
            status = exc.response.status_code
            code = f"HTTP {status}" if status >= 400 else error_code(exc) or "no error code"
            level = logging.ERROR if code in SLACK_OPERATOR_ERRORS else logging.WARNING
            log.log(
                level,
                "Slack usergroups.list failed (%s): on-call user groups named by handle are not "
                "synced this time%s",
                code,
                " (the app needs the usergroups:read scope)" if code == "missing_scope" else "",
            )
            return None
        except Exception as exc:  # a timeout, a refused connection: try again next run
            log.warning(
                "Slack usergroups.list failed (%s: %s): on-call user groups named by handle are "
                "not synced this time",
                type(exc).__name__,
                exc,
            )
            return None
        groups = answer.get("usergroups") or []
        return {
            str(group.get("handle", "")).casefold(): str(group["id"])
            for group in groups
            if isinstance(group, dict) and group.get("id")
        }


def _usergroup_id(schedule: OnCallSchedule, directory: _Directory) -> str | None:
    """The schedule's user group id, looked up by handle (and stored) when it is not known."""
    if schedule.slack_usergroup_id:
        return schedule.slack_usergroup_id
    handle = schedule.slack_usergroup_handle.strip().removeprefix("@")
    if not settings.CERES_SLACK_BOT_TOKEN:
        _warn_once(
            schedule,
            "no-token",
            "on-call schedule %s: cannot look up the Slack user group @%s without "
            "CERES_SLACK_BOT_TOKEN; not synced",
            schedule.key,
            handle,
        )
        return None
    found = directory.lookup(handle.casefold())
    if found is None:
        if not directory.failed:
            log.warning(
                "on-call schedule %s: no Slack user group with the handle @%s (usergroups.list); "
                "not synced",
                schedule.key,
                handle,
            )
        return None
    if not _USERGROUP_ID.fullmatch(found):
        log.warning(
            "on-call schedule %s: Slack answered %r for @%s, not a user group id; not synced",
            schedule.key,
            found,
            handle,
        )
        return None
    OnCallSchedule.objects.filter(pk=schedule.pk, slack_usergroup_id="").update(
        slack_usergroup_id=found
    )
    log.info("on-call schedule %s: Slack user group @%s is %s", schedule.key, handle, found)
    return found


# --- the sync ----------------------------------------------------------------------------------


def sync_usergroups(*, now: datetime.datetime | None = None) -> int:
    """Send each on-call user group its person when it changed; returns how many updates were
    written to the outbox. One schedule failing (a calendar deleted, a look-up failing) is
    logged and does not stop the others."""
    now = now or timezone.now()
    directory = _Directory()
    sent = 0
    schedules = (
        OnCallSchedule.objects.exclude(slack_usergroup_id="", slack_usergroup_handle="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in schedules:
        schedule = OnCallSchedule.objects.filter(pk=pk).first()
        if schedule is None:
            continue  # deleted meanwhile
        try:
            usergroup = _usergroup_id(schedule, directory)
            if usergroup is not None and sync_usergroup(
                schedule_id=pk, usergroup=usergroup, now=now
            ):
                sent += 1
        except Exception:
            log.exception("on-call schedule %s: Slack user group not synced", schedule.key)
    return sent


def sync_usergroup(*, schedule_id: int, usergroup: str, now: datetime.datetime) -> bool:
    """One schedule, under its row lock: write the update when the person on call changed.
    Returns whether an update was written."""
    with acting_as(ACTOR), transaction.atomic():
        schedule = OnCallSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None:
            return False
        shift = current_shift(schedule, now)
        person = shift.person
        since = _stamp(shift.start)
        if person is None:
            _warn_once(
                schedule,
                f"gap-{since}",
                "on-call schedule %s: nobody is on call (a gap since %s); the Slack user group "
                "%s keeps %s",
                schedule.key,
                since,
                usergroup,
                schedule.slack_usergroup_users or "its members",
            )
            return False
        if not person.is_active or not person.slack_user_id:
            reason = "is no longer on the team" if not person.is_active else "has no Slack id"
            _warn_once(
                schedule,
                f"unreachable-{person.pk}-{since}",
                "on-call schedule %s: %s is on call but %s; the Slack user group %s keeps %s",
                schedule.key,
                person.name,
                reason,
                usergroup,
                schedule.slack_usergroup_users or "its members",
            )
            return False
        users = [person.slack_user_id]
        if list(schedule.slack_usergroup_users or []) == users:
            return False
        before = list(schedule.slack_usergroup_users or [])
        version = (
            _stamp(schedule.slack_usergroup_synced_at)
            if schedule.slack_usergroup_synced_at
            else "first"
        )
        enqueue(
            channel="slack",
            idempotency_key=(
                f"oncall-usergroup-{schedule.pk}-{since}-{'+'.join(users)}-after-{version}"
            ),
            payload={
                "method": "usergroups.users.update",
                "args": {"usergroup": usergroup, "users": users},
            },
            ordering_key=f"slack-usergroup:{usergroup}",
        )
        OnCallSchedule.objects.filter(pk=schedule.pk).update(
            slack_usergroup_users=users, slack_usergroup_synced_at=now
        )
        record_change(
            actor=None,
            action="oncall.usergroup.sync",
            target=schedule,
            target_label=schedule.key,
            changes={"slack_usergroup_users": [before, users]},
        )
    log.info(
        "on-call schedule %s: Slack user group %s is now %s (%s, on call since %s)",
        schedule.key,
        usergroup,
        users,
        person.name,
        since,
    )
    return True
