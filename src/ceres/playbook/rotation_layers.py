"""The layers the playbook's `rotations:` make, from people, shift lengths and handoffs, and
every problem found on the way (each at the key it is about).

The first handoff (a layer's `start`) is not written in the file: it is the handoff's weekday and
time on the anchor date, Monday 5 January 2026, or on the latest such weekday before it. So the
same file always gives the same `start`, and applying it again changes nothing; turns are counted
from there (docs/playbook.md, "rotations"). `rotation_plan.py` diffs and applies what this
builds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ceres.core.errors import Invalid
from ceres.oncall import services as oncall_services
from ceres.oncall.rotation import Rotation
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.oncall_schema import (
    ALWAYS,
    WEEK_HOURS,
    Handoff,
    LayerSpec,
    RotationSpec,
    parse_every,
    parse_handoff,
)
from ceres.playbook.oncall_stored import StoredOncall, Team

# The first handoff of every rotation is on this date (a Monday) or the latest date before it
# with the handoff's weekday (module docstring).
ANCHOR = datetime.date(2026, 1, 5)
MAX_LAYERS = oncall_services.MAX_LAYERS


def first_handoff(handoff: Handoff) -> datetime.datetime:
    day = ANCHOR
    if handoff.weekday is not None:
        day -= datetime.timedelta(days=(ANCHOR.weekday() - handoff.weekday) % 7)
    return datetime.datetime.combine(day, handoff.at, tzinfo=ZoneInfo(handoff.timezone))


@dataclass(frozen=True)
class WantedLayer:
    people: tuple[str, ...]  # e-mail addresses, in turn order
    names: tuple[str, ...]
    shift_length_hours: int
    handoff: Handoff
    restriction: str  # a calendar's key; "" is 24/7

    @property
    def start(self) -> datetime.datetime:
        return first_handoff(self.handoff).astimezone(datetime.UTC)

    def values(self, position: int) -> dict[str, Any]:
        return {
            "position": position,
            "people": list(self.people),
            "shift_length_hours": self.shift_length_hours,
            "start": self.start,
            "timezone": self.handoff.timezone,
            "restriction": self.restriction,
        }


class RotationLayers:
    """The layers each rotation of the file makes, and the problems found on the way."""

    def __init__(self, spec: Any, state: Any) -> None:
        self.rotations: dict[str, RotationSpec] = dict(spec.rotations or {})
        self.calendars = list(dict.fromkeys([*(spec.calendars or {}), *state.calendars]))
        self.team = Team(spec, state)
        self.problems: list[Problem] = []
        self.layers: dict[str, list[WantedLayer]] = {}
        for key, rotation in self.rotations.items():
            layers = self._rotation(("rotations", key), key, rotation)
            if layers is not None:
                self.layers[key] = layers
        # A rotation's hours shared by its layers is reported once.
        self.problems = list(dict.fromkeys(self.problems))

    def _rotation(
        self, path: DocPath, key: str, rotation: RotationSpec
    ) -> list[WantedLayer] | None:
        if rotation.layers is None:
            if rotation.people is None:
                self.problems.append(
                    Problem(path, "needs people (who takes turns) or layers (other rotations)")
                )
                return None
            layer = self._turns(path, rotation, rotation.hours, (*path, "hours"))
            return [layer] if layer is not None else None
        found = len(self.problems)
        for name in ("people", "every", "handoff"):
            if getattr(rotation, name) is not None:
                self.problems.append(
                    Problem(
                        (*path, name),
                        f"a rotation with layers sets {name} in each layer; write people "
                        "(one layer) or layers, not both",
                    )
                )
        if not rotation.layers:
            self.problems.append(Problem((*path, "layers"), "lists no layers"))
        if len(rotation.layers) > MAX_LAYERS:
            self.problems.append(Problem((*path, "layers"), f"at most {MAX_LAYERS} layers"))
        layers = []
        for i, item in enumerate(rotation.layers):
            layer = self._layer((*path, "layers", i), key, rotation, item)
            if layer is not None:
                layers.append(layer)
        return layers if len(self.problems) == found else None

    def _layer(
        self, path: DocPath, key: str, rotation: RotationSpec, item: LayerSpec | str
    ) -> WantedLayer | None:
        """A layer of `rotation`: another rotation by name (`item` or `{rotation: …}`), or one
        written out. Its hours: its own, else the rotation's, else the named rotation's."""
        if isinstance(item, LayerSpec) and item.rotation is None:
            written_at = (*path, "hours") if item.hours is not None else (*path[:-2], "hours")
            return self._turns(path, item, item.hours or rotation.hours, written_at)
        name = item if isinstance(item, str) else str(item.rotation)
        where = path if isinstance(item, str) else (*path, "rotation")
        if isinstance(item, LayerSpec):
            written = [f for f in ("people", "every", "handoff") if getattr(item, f) is not None]
            if written:
                self.problems.append(
                    Problem(
                        (*path, written[0]),
                        "a layer names another rotation or writes its own people, every and "
                        "handoff, not both",
                    )
                )
                return None
        other = self.rotations.get(name)
        if name == key:
            self.problems.append(Problem(where, "a rotation cannot be a layer of itself"))
            return None
        if other is None:
            known = ", ".join(k for k in self.rotations if k != key) or "none"
            self.problems.append(Problem(where, f"unknown rotation {name!r}; rotations: {known}"))
            return None
        if other.layers is not None or other.people is None:
            self.problems.append(
                Problem(where, f"{name!r} is made of layers itself; name a rotation with people")
            )
            return None
        own = item.hours if isinstance(item, LayerSpec) else None
        hours: str | None
        hours_path: DocPath
        if own is not None:
            hours, hours_path = own, (*path, "hours")
        elif rotation.hours is not None:
            hours, hours_path = rotation.hours, (*path[:-2], "hours")
        else:
            hours, hours_path = other.hours, ("rotations", name, "hours")
        found = len(self.problems)
        layer = self._turns(("rotations", name), other, hours, hours_path)
        # The named rotation's own problems are reported where it is written, once; an
        # unknown calendar written here is this layer's.
        theirs = self.problems[found:]
        del self.problems[found:]
        self.problems += [p for p in theirs if p.path[:2] != ("rotations", name)]
        return layer if not theirs else None

    def _turns(
        self, path: DocPath, turns: Any, hours: str | None, hours_path: DocPath
    ) -> WantedLayer | None:
        found = len(self.problems)
        people: list[str] = []
        names: list[str] = []
        if turns.people is None:
            self.problems.append(
                Problem(
                    (*path, "people"),
                    "is required: who takes turns (role keys, names or e-mail addresses)",
                )
            )
        elif not turns.people:
            self.problems.append(Problem((*path, "people"), "lists nobody"))
        for j, reference in enumerate(turns.people or []):
            members, why = self.team.people(reference)
            if why:
                self.problems.append(Problem((*path, "people", j), why))
            people += [member.email for member in members]
            names += [member.name for member in members]
        restriction = self._restriction(hours, hours_path)
        if turns.every is None:
            self.problems.append(
                Problem((*path, "every"), "is required: how long a turn is, e.g. 1w or 12h")
            )
        if turns.handoff is None:
            self.problems.append(
                Problem(
                    (*path, "handoff"),
                    "is required: when a turn begins, e.g. 'mon 09:00 America/Chicago'",
                )
            )
        if len(self.problems) > found or restriction is None:
            return None
        shift_hours = parse_every(turns.every)
        handoff = parse_handoff(turns.handoff)
        weekly = shift_hours % WEEK_HOURS == 0
        if weekly and handoff.weekday is None:
            self.problems.append(
                Problem(
                    (*path, "handoff"),
                    f"a rotation every {turns.every} hands off on a weekday: write e.g. "
                    f"'mon {handoff.at:%H:%M} {handoff.timezone}'",
                )
            )
            return None
        if not weekly and handoff.weekday is not None:
            self.problems.append(
                Problem(
                    (*path, "handoff"),
                    f"a rotation every {turns.every} does not hand off on a fixed weekday: "
                    f"write '{handoff.at:%H:%M} {handoff.timezone}'",
                )
            )
            return None
        try:
            Rotation(
                people=tuple(people),
                shift_length=datetime.timedelta(hours=shift_hours),
                start=first_handoff(handoff),
                timezone=handoff.timezone,
            )
        except Invalid as exc:
            field = "every" if exc.field == "shift_length" else "handoff"
            self.problems.append(
                Problem((*path, field), f"{exc.message} (the first handoff, on {ANCHOR})")
            )
            return None
        return WantedLayer(tuple(people), tuple(names), shift_hours, handoff, restriction)

    def _restriction(self, hours: str | None, path: DocPath) -> str | None:
        if hours is None or hours == ALWAYS:
            return ""
        if hours in self.calendars:
            return hours
        known = ", ".join(self.calendars) or "none defined"
        self.problems.append(
            Problem(path, f"unknown calendar {hours!r}; write always (24/7) or a calendar: {known}")
        )
        return None


def _aliases(spec: Any, kept: StoredOncall) -> list[Problem]:
    """One Slack user group follows one schedule."""
    problems: list[Problem] = []
    rotations: dict[str, RotationSpec] = dict(spec.rotations or {})
    owners = {
        schedule.slack_usergroup_handle: f"schedule {key!r}, which is not in the playbook"
        for key, schedule in kept.schedules.items()
        if key not in rotations and schedule.slack_usergroup_handle
    }
    for key, rotation in rotations.items():
        alias = rotation.slack_alias
        if not alias:
            continue
        if alias in owners:
            problems.append(
                Problem(
                    ("rotations", key, "slack_alias"),
                    f"@{alias} is also the alias of {owners[alias]}; a Slack user group follows "
                    "one schedule",
                )
            )
        owners.setdefault(alias, f"rotation {key!r}")
    return problems


def check(spec: Any, state: Any) -> list[Problem]:
    return RotationLayers(spec, state).problems + _aliases(spec, state.oncall)
