"""The playbook's `escalation_chains:`: their checks, their diff, and how they are applied.

A chain is written as the playbook sketch does, a list of steps ending with `{repeat: N}`, or
as a mapping (`name`, `steps`, `repeat`, `channel`, `ack_timeout`, `response_targets`). The
sketch's `response-targets:` beside the chains is the targets of every chain that does not set
its own. A step notifies a rotation's on-call, a person, people or everyone active in a role
(any of them together), by `via` (default: Slack), then waits.

Applied through `ceres.oncall.policies.save_policy`, which replaces a chain's steps whole. A
chain the file does not name is kept, as every section keeps what it does not list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ceres.core.durations import format_duration
from ceres.core.errors import CeresError, Invalid
from ceres.oncall import policies
from ceres.oncall import selectors as oncall_selectors
from ceres.oncall.models import EscalationPolicy
from ceres.playbook.changes import Change, Plan, show
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.oncall_schema import (
    ChainStepSpec,
    RepeatSpec,
    ResponseTargetsSpec,
    key_problem,
)
from ceres.playbook.oncall_stored import AtPath, StoredChain, StoredOncall, StoredStep, Team
from ceres.team import selectors as team_selectors

DEFAULT_VIA = ("slack",)
# The model's defaults, stored when a chain has no response targets (they are then unused).
NO_TARGETS = {
    "target_calendar": "",
    "ack_within_inside_minutes": 60,
    "ack_within_outside_minutes": 240,
}


@dataclass(frozen=True)
class _Chain:
    """A chain as written, in one form: its steps with their paths."""

    path: DocPath
    steps_at: DocPath  # where step i is: (*steps_at, i)
    steps: list[ChainStepSpec]
    name: str | None
    repeat: int
    channel: str | None
    ack_timeout: int | None
    targets: ResponseTargetsSpec | None
    targets_at: DocPath


def _chains(spec: Any, problems: list[Problem]) -> list[tuple[str, _Chain]]:
    section = spec.escalation_chains
    if section is None:
        return []
    default_targets = section.response_targets
    default_at: DocPath = ("escalation_chains", "response-targets")
    chains = []
    for key, written in section.chains().items():
        path: DocPath = ("escalation_chains", key)
        why = key_problem(key, what="an escalation chain's name", example="infrastructure-alarm")
        if why:
            problems.append(Problem(path, why))
            continue
        if isinstance(written, list):
            steps = [item for item in written if isinstance(item, ChainStepSpec)]
            repeats = [(i, item) for i, item in enumerate(written) if isinstance(item, RepeatSpec)]
            for i, _ in repeats[1:]:
                problems.append(Problem((*path, i), "a chain repeats once: one {repeat: N}"))
            if repeats and repeats[0][0] != len(written) - 1:
                problems.append(
                    Problem((*path, repeats[0][0]), "{repeat: N} goes after the last step")
                )
            chain = _Chain(
                path=path,
                steps_at=path,
                steps=steps,
                name=None,
                repeat=repeats[0][1].repeat if repeats else 0,
                channel=None,
                ack_timeout=None,
                targets=default_targets,
                targets_at=default_at,
            )
        else:
            own = written.response_targets
            chain = _Chain(
                path=path,
                steps_at=(*path, "steps"),
                steps=list(written.steps),
                name=written.name,
                repeat=written.repeat,
                channel=written.channel,
                ack_timeout=written.ack_timeout,
                targets=own or default_targets,
                targets_at=(*path, "response_targets") if own else default_at,
            )
        if not chain.steps:
            problems.append(Problem(chain.steps_at, "lists no steps"))
        chains.append((key, chain))
    return chains


@dataclass(frozen=True)
class _Step:
    schedule: str
    people: tuple[str, ...]  # e-mail addresses
    names: tuple[str, ...]
    role: str
    via: tuple[str, ...]
    wait_minutes: int
    open_outage_issue: bool


class _Chains:
    """Every chain of the file with its steps resolved, and the problems found on the way."""

    def __init__(self, spec: Any, state: Any) -> None:
        kept: StoredOncall = state.oncall
        self.team = Team(spec, state)
        self.rotations = list(dict.fromkeys([*(spec.rotations or {}), *kept.schedules]))
        self.calendars = list(dict.fromkeys([*(spec.calendars or {}), *state.calendars]))
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.chains: dict[str, tuple[_Chain, list[_Step]]] = {}
        for key, chain in _chains(spec, self.problems):
            found = len(self.problems)
            steps = [self._step((*chain.steps_at, i), step) for i, step in enumerate(chain.steps)]
            self._targets(chain)
            if len(self.problems) == found:
                self.chains[key] = (chain, [step for step in steps if step is not None])

    def _step(self, path: DocPath, step: ChainStepSpec) -> _Step | None:
        found = len(self.problems)
        notify = step.notify
        at: DocPath = (*path, "notify")
        if not (notify.rotation or notify.person or notify.people or notify.role):
            self.problems.append(
                Problem(
                    at,
                    "names nobody: write {rotation: …}, {person: …}, {people: […]} or "
                    "{role: …} (or several of them)",
                )
            )
        if notify.person is not None and notify.people is not None:
            self.problems.append(Problem((*at, "people"), "write person or people, not both"))
        if notify.rotation and notify.rotation not in self.rotations:
            known = ", ".join(self.rotations) or "none defined"
            self.problems.append(
                Problem(
                    (*at, "rotation"),
                    f"unknown rotation {notify.rotation!r}; rotations: {known}",
                )
            )
        people, names = [], []
        written = [((*at, "person"), notify.person)] if notify.person is not None else []
        written += [((*at, "people", j), ref) for j, ref in enumerate(notify.people or [])]
        for where, reference in written:
            member, why = self.team.person(reference)
            if member is None:
                self.problems.append(Problem(where, why))
            elif member.email in people:
                self.problems.append(Problem(where, f"{member.name} is listed twice"))
            else:
                people.append(member.email)
                names.append(member.name)
        if notify.role and notify.role not in self.team.roles:
            known = ", ".join(self.team.roles) or "none defined"
            self.problems.append(
                Problem((*at, "role"), f"unknown role {notify.role!r}; known roles: {known}")
            )
        elif notify.role and not self.team.role_members(notify.role):
            self.warnings.append(
                Problem(
                    (*at, "role"),
                    f"nobody active has the role {notify.role!r}, so this step pages nobody "
                    "of that role",
                )
            )
        if len(self.problems) > found:
            return None
        via = step.via if step.via is not None else DEFAULT_VIA
        return _Step(
            schedule=notify.rotation or "",
            people=tuple(people),
            names=tuple(names),
            role=notify.role or "",
            via=tuple(dict.fromkeys([via] if isinstance(via, str) else via)),
            wait_minutes=step.wait,
            open_outage_issue=step.outage_issue,
        )

    def _targets(self, chain: _Chain) -> None:
        calendar = chain.targets.ack_within.calendar if chain.targets else None
        if calendar is not None and calendar not in self.calendars:
            known = ", ".join(self.calendars) or "none defined"
            self.problems.append(
                Problem(
                    (*chain.targets_at, "ack_within", "calendar"),
                    f"unknown calendar {calendar!r}; known calendars: {known}",
                )
            )


def check(spec: Any, state: Any) -> list[Problem]:
    return _Chains(spec, state).problems


# --- the diff --------------------------------------------------------------------------------


def _wait(minutes: int) -> str:
    return format_duration(minutes * 60)


def _show_step(
    schedule: str, names: tuple[str, ...], role: str, via: tuple[str, ...], wait: int, issue: bool
) -> str:
    who = [f"rotation {schedule}"] if schedule else []
    who += [f"{'person' if len(names) == 1 else 'people'} {', '.join(names)}"] if names else []
    who += [f"role {role}"] if role else []
    text = f"{' + '.join(who)} by {'+'.join(via)}, wait {_wait(wait)}"
    return text + (", opens an outage issue" if issue else "")


def _show_wanted_step(step: _Step) -> str:
    return _show_step(
        step.schedule, step.names, step.role, step.via, step.wait_minutes, step.open_outage_issue
    )


def _show_stored_step(step: StoredStep, kept: StoredOncall) -> str:
    names = kept.person_names()
    people = tuple(names.get(pk, f"#{pk}") for pk in step.people)
    return _show_step(
        step.schedule, people, step.role, step.via, step.wait_minutes, step.open_outage_issue
    )


def _show_targets(values: dict[str, Any]) -> str:
    inside = _wait(values["ack_within_inside_minutes"])
    outside = _wait(values["ack_within_outside_minutes"])
    if not values["target_calendar"]:
        unused = any(values[name] != default for name, default in NO_TARGETS.items())
        return f"(none; {inside}/{outside} unused)" if unused else "(none)"
    return f"ack within {inside} inside {values['target_calendar']} hours, {outside} outside"


def _show_timeout(minutes: int | None) -> str:
    return _wait(minutes) if minutes is not None else "(none)"


def _values(key: str, chain: _Chain) -> dict[str, Any]:
    """The keyword arguments of `policies.save_policy`, but the steps."""
    values: dict[str, Any] = {
        "name": chain.name or key.replace("-", " ").capitalize(),
        "repeat": chain.repeat,
        "alarm_channel": chain.channel or "",
        "ack_timeout_minutes": chain.ack_timeout,
        **NO_TARGETS,
    }
    if chain.targets is not None:
        within = chain.targets.ack_within
        values["target_calendar"] = within.calendar
        values["ack_within_inside_minutes"] = within.inside_hours
        values["ack_within_outside_minutes"] = within.outside_hours
    return values


def _same_step(before: StoredStep, after: _Step, emails: dict[int, str]) -> bool:
    return (
        before.schedule == after.schedule
        and tuple(emails.get(pk, f"#{pk}") for pk in before.people) == after.people
        and before.role == after.role
        and before.via == after.via
        and before.wait_minutes == after.wait_minutes
        and before.open_outage_issue == after.open_outage_issue
    )


def _changes(
    stored: StoredChain, values: dict[str, Any], steps: list[_Step], kept: StoredOncall
) -> list[str]:
    before = stored.values
    shown = []
    if before["name"] != values["name"]:
        shown.append(f"name {show(before['name'])} -> {show(values['name'])}")
    if before["repeat"] != values["repeat"]:
        shown.append(f"repeat {before['repeat']} -> {values['repeat']}")
    if before["alarm_channel"] != values["alarm_channel"]:
        shown.append(f"channel {show(before['alarm_channel'])} -> {show(values['alarm_channel'])}")
    if before["ack_timeout_minutes"] != values["ack_timeout_minutes"]:
        old, new = before["ack_timeout_minutes"], values["ack_timeout_minutes"]
        shown.append(f"ack_timeout {_show_timeout(old)} -> {_show_timeout(new)}")
    if _show_targets(before) != _show_targets(values):
        shown.append(f"response_targets {_show_targets(before)} -> {_show_targets(values)}")
    emails = kept.person_emails()
    for i in range(max(len(stored.steps), len(steps))):
        if i >= len(steps):
            shown.append(f"steps[{i}] removed ({_show_stored_step(stored.steps[i], kept)})")
        elif i >= len(stored.steps):
            shown.append(f"steps[{i}] added ({_show_wanted_step(steps[i])})")
        elif not _same_step(stored.steps[i], steps[i], emails):
            old, new = _show_stored_step(stored.steps[i], kept), _show_wanted_step(steps[i])
            shown.append(f"steps[{i}] {old} -> {new}")
    return shown


def _summary(values: dict[str, Any], steps: list[_Step]) -> str:
    parts = [f"{values['name']}: " + " » ".join(_show_wanted_step(step) for step in steps)]
    if values["repeat"]:
        parts.append(f"repeat {values['repeat']}")
    if values["alarm_channel"]:
        parts.append(f"channel {values['alarm_channel']}")
    if values["ack_timeout_minutes"] is not None:
        parts.append(f"ack_timeout {_wait(values['ack_timeout_minutes'])}")
    if values["target_calendar"]:
        parts.append(_show_targets(values))
    return "; ".join(parts)


def escalation_chains(spec: Any, state: Any, plan: Plan) -> None:
    kept: StoredOncall = state.oncall
    if spec.escalation_chains is None:
        plan.keep("escalation_chain", list(kept.chains))
        return
    chains = _Chains(spec, state)
    plan.warnings += chains.warnings
    for key, (chain, steps) in chains.chains.items():
        values = _values(key, chain)
        write_values = {
            "key": key,
            **values,
            "steps": [
                {
                    "schedule": step.schedule,
                    "people": list(step.people),
                    "role": step.role,
                    "via": list(step.via),
                    "wait_minutes": step.wait_minutes,
                    "open_outage_issue": step.open_outage_issue,
                }
                for step in steps
            ],
            "steps_at": chain.steps_at[len(chain.path) :],
        }
        stored = kept.chains.get(key)
        if stored is None:
            summary = _summary(values, steps)
            plan.add(Change("escalation_chain", key, chain.path, True, summary, (), write_values))
            continue
        shown = tuple(_changes(stored, values, steps, kept))
        fields = (("chain", None, None),) if shown else ()
        change = Change("escalation_chain", key, chain.path, False, "", fields, write_values, shown)
        plan.add(change if shown else None)
    plan.keep("escalation_chain", [key for key in kept.chains if key not in chains.chains])


# --- the writes ------------------------------------------------------------------------------

_POLICY_FIELDS = {
    "name": ("name",),
    "repeat": ("repeat",),
    "alarm_channel": ("channel",),
    "ack_timeout_minutes": ("ack_timeout",),
    "target_calendar": ("response_targets", "ack_within", "calendar"),
    "ack_within_inside_minutes": ("response_targets", "ack_within", "inside_hours"),
    "ack_within_outside_minutes": ("response_targets", "ack_within", "outside_hours"),
}
_STEP_FIELDS = {
    "schedule": ("notify", "rotation"),
    "people": ("notify", "people"),
    "role": ("notify", "role"),
    "via": ("via",),
    "wait_minutes": ("wait",),
    "open_outage_issue": ("outage_issue",),
}


def _at(field: str, steps_at: DocPath) -> DocPath:
    """A refusal of `save_policy` (`steps[2].wait_minutes`) at the playbook's key."""
    if field.startswith("steps["):
        index, _, rest = field.removeprefix("steps[").partition("]")
        return (*steps_at, int(index), *_STEP_FIELDS.get(rest.removeprefix("."), ()))
    return _POLICY_FIELDS.get(field, ())


def write(values: dict[str, Any]) -> EscalationPolicy:
    values = dict(values)
    steps_at: DocPath = values.pop("steps_at")
    written = values.pop("steps")
    emails = {email for step in written for email in step["people"]}
    people = {p.email: p for p in team_selectors.people().filter(email__in=emails)}
    steps = []
    for i, step in enumerate(written):
        try:
            schedule = oncall_selectors.get_schedule(step["schedule"]) if step["schedule"] else None
        except CeresError as exc:  # the rotation's schedule was not made
            raise AtPath(exc.message, (*steps_at, i, "notify", "rotation")) from exc
        missing = [email for email in step["people"] if email not in people]
        if missing:
            raise AtPath(f"no person {missing[0]!r}", (*steps_at, i, "notify"))
        steps.append(
            policies.StepSpec(
                wait_minutes=step["wait_minutes"],
                via=tuple(step["via"]),
                schedule=schedule,
                people=tuple(people[email] for email in step["people"]),
                role=step["role"],
                open_outage_issue=step["open_outage_issue"],
            )
        )
    try:
        return policies.save_policy(actor=None, steps=steps, **values)
    except Invalid as exc:
        raise AtPath(exc.message, _at(exc.field, steps_at)) from exc
