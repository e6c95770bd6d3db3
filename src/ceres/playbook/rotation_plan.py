"""The playbook's `rotations:`: their diff, and how they are applied.

Each rotation is an on-call schedule whose key is the rotation's name: one layer (`people`,
`every`, `handoff`, `hours`) or several (`layers`, lowest first, a later one winning wherever
it has someone on call), built and checked in `rotation_layers.py`. It is applied through
`ceres.oncall.services` (`save_schedule`, `save_layer`, `delete_layer`), so it is checked by the
same engine and audited.

A rotation is described whole by the file (a field left out takes its default, a layer left
out is deleted); a schedule the file does not name is kept, as every section keeps what it
does not list. Overrides are operational and never touched.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ceres.core.errors import Invalid
from ceres.core.hours import WEEKDAYS
from ceres.oncall import selectors as oncall_selectors
from ceres.oncall import services as oncall_services
from ceres.playbook.changes import Change, Plan, show
from ceres.playbook.errors import DocPath
from ceres.playbook.oncall_schema import WEEK_HOURS, RotationSpec, format_every
from ceres.playbook.oncall_stored import AtPath, StoredLayer, StoredOncall, StoredSchedule
from ceres.playbook.rotation_layers import RotationLayers, WantedLayer
from ceres.team import selectors as team_selectors


def default_name(key: str) -> str:
    """`developer-on-call` -> "Developer on call", for a rotation written without a name."""
    return key.replace("-", " ").capitalize()


def _hours_text(restriction: str) -> str:
    return f"{restriction} hours" if restriction else "24/7"


def show_layer(names: tuple[str, ...], hours: int, handoff: str, restriction: str) -> str:
    return (
        f"{', '.join(names)} every {format_every(hours)}, handoff {handoff}, "
        f"{_hours_text(restriction)}"
    )


def _stored_handoff(layer: StoredLayer) -> str:
    local = layer.start.astimezone(ZoneInfo(layer.timezone))
    weekly = layer.shift_length_hours % WEEK_HOURS == 0
    day = f"{WEEKDAYS[local.weekday()]} " if weekly else ""
    return f"{day}{local:%H:%M} {layer.timezone}"


# --- the diff --------------------------------------------------------------------------------


def _schedule_fields(key: str, rotation: RotationSpec) -> dict[str, str]:
    return {
        "name": rotation.name or default_name(key),
        "description": (rotation.description or "").strip(),
        "slack_alias": rotation.slack_alias or "",
        "channel": rotation.channel or "",
    }


def _stored_fields(schedule: StoredSchedule) -> dict[str, str]:
    return {
        "name": schedule.name,
        "description": schedule.description,
        "slack_alias": schedule.slack_usergroup_handle,
        "channel": schedule.handoff_channel,
    }


def _layer_changes(
    before: StoredLayer, after: WantedLayer, position: int, kept: StoredOncall
) -> list[str]:
    emails, names = kept.person_emails(), kept.person_names()
    old_people = tuple(emails.get(pk, f"#{pk}") for pk in before.people)
    shown = []
    if old_people != after.people:
        old_names = ", ".join(names.get(pk, f"#{pk}") for pk in before.people)
        shown.append(f"people {old_names} -> {', '.join(after.names)}")
    if before.shift_length_hours != after.shift_length_hours:
        old, new = format_every(before.shift_length_hours), format_every(after.shift_length_hours)
        shown.append(f"every {old} -> {new}")
    old_handoff = _stored_handoff(before)
    if old_handoff != str(after.handoff):
        shown.append(f"handoff {old_handoff} -> {after.handoff}")
    elif before.start != after.start:
        zone = ZoneInfo(after.handoff.timezone)
        shown.append(
            f"first handoff {before.start.astimezone(zone):%Y-%m-%d %H:%M} -> "
            f"{after.start.astimezone(zone):%Y-%m-%d %H:%M} {after.handoff.timezone}"
        )
    if before.restriction != after.restriction:
        shown.append(f"hours {_hours_text(before.restriction)} -> {_hours_text(after.restriction)}")
    if before.position != position:
        shown.append(f"position {before.position} -> {position}")
    return shown


def _show_stored_layer(layer: StoredLayer, kept: StoredOncall) -> str:
    names = kept.person_names()
    people = tuple(names.get(pk, f"#{pk}") for pk in layer.people)
    return show_layer(people, layer.shift_length_hours, _stored_handoff(layer), layer.restriction)


def _show_wanted_layer(layer: WantedLayer) -> str:
    return show_layer(layer.names, layer.shift_length_hours, str(layer.handoff), layer.restriction)


def _layers_shown(
    before: tuple[StoredLayer, ...], after: list[WantedLayer], kept: StoredOncall
) -> list[str]:
    single = len(before) == len(after) == 1
    shown = []
    for position in range(max(len(before), len(after))):
        prefix = "" if single else f"layer {position} "
        if position >= len(after):
            shown.append(f"layer {position} removed ({_show_stored_layer(before[position], kept)})")
        elif position >= len(before):
            shown.append(f"layer {position} added ({_show_wanted_layer(after[position])})")
        else:
            shown += [
                prefix + change
                for change in _layer_changes(before[position], after[position], position, kept)
            ]
    return shown


def _summary(fields: dict[str, str], layers: list[WantedLayer]) -> str:
    parts = [fields["name"]]
    if len(layers) == 1:
        parts.append(_show_wanted_layer(layers[0]))
    else:
        parts += [f"layer {i}: {_show_wanted_layer(layer)}" for i, layer in enumerate(layers)]
    if fields["slack_alias"]:
        parts.append(f"@{fields['slack_alias']}")
    if fields["channel"]:
        parts.append(f"handoff channel {fields['channel']}")
    return "; ".join(parts)


def rotations(spec: Any, state: Any, plan: Plan) -> None:
    kept: StoredOncall = state.oncall
    if spec.rotations is None:
        plan.keep("rotation", list(kept.schedules))
        return
    wanted = RotationLayers(spec, state).layers
    for key, rotation in spec.rotations.items():
        layers = wanted[key]
        fields = _schedule_fields(key, rotation)
        values: dict[str, Any] = {
            "key": key,
            "name": fields["name"],
            "description": fields["description"],
            "slack_usergroup_handle": fields["slack_alias"],
            "handoff_channel": fields["channel"],
            "layers": [layer.values(position) for position, layer in enumerate(layers)],
            "single": rotation.layers is None,
        }
        path: DocPath = ("rotations", key)
        stored = kept.schedules.get(key)
        if stored is None:
            plan.add(Change("rotation", key, path, True, _summary(fields, layers), (), values))
            continue
        before = _stored_fields(stored)
        changed: tuple[tuple[str, Any, Any], ...] = tuple(
            (name, before[name], value) for name, value in fields.items() if before[name] != value
        )
        shown = tuple(
            "description edited" if name == "description" else f"{name} {show(old)} -> {show(new)}"
            for name, old, new in changed
        )
        layer_lines = tuple(_layers_shown(stored.layers, layers, kept))
        if layer_lines:
            changed += (("layers", None, None),)
        change = Change("rotation", key, path, False, "", changed, values, shown + layer_lines)
        plan.add(change if changed else None)
    plan.keep("rotation", [key for key in kept.schedules if key not in spec.rotations])


# --- the writes ------------------------------------------------------------------------------

# A service's field -> the playbook's, for a refusal met while applying.
_SCHEDULE_FIELDS: dict[str, DocPath] = {
    "name": ("name",),
    "description": ("description",),
    "slack_usergroup_handle": ("slack_alias",),
    "handoff_channel": ("channel",),
}
_LAYER_FIELDS: dict[str, DocPath] = {
    "people": ("people",),
    "shift_length_hours": ("every",),
    "start": ("handoff",),
    "timezone": ("handoff",),
    "restriction": ("hours",),
}


def write(values: dict[str, Any]) -> None:
    key, handle = values["key"], values["slack_usergroup_handle"]
    existing = oncall_selectors.schedules().filter(key=key).first()
    # A user group looked up by the sync stays, unless the file names another one.
    same_group = existing is not None and existing.slack_usergroup_handle == handle
    try:
        schedule = oncall_services.save_schedule(
            actor=None,
            key=key,
            name=values["name"],
            description=values["description"],
            slack_usergroup_id=existing.slack_usergroup_id if same_group and existing else "",
            slack_usergroup_handle=handle,
            handoff_channel=values["handoff_channel"],
        )
    except Invalid as exc:
        raise AtPath(exc.message, _SCHEDULE_FIELDS.get(exc.field, ())) from exc
    emails = {email for layer in values["layers"] for email in layer["people"]}
    people = {p.email: p for p in team_selectors.people().filter(email__in=emails)}
    for layer in values["layers"]:
        position = layer["position"]
        where: DocPath = () if values["single"] else ("layers", position)
        try:
            missing = [email for email in layer["people"] if email not in people]
            if missing:
                raise Invalid(f"no person {missing[0]!r}", field="people")
            oncall_services.save_layer(
                actor=None,
                schedule=schedule,
                position=position,
                people=[people[email] for email in layer["people"]],
                shift_length_hours=layer["shift_length_hours"],
                start=layer["start"],
                timezone=layer["timezone"],
                restriction=layer["restriction"],
            )
        except Invalid as exc:
            raise AtPath(exc.message, (*where, *_LAYER_FIELDS.get(exc.field, ()))) from exc
    for extra in schedule.layers.filter(position__gte=len(values["layers"])):
        oncall_services.delete_layer(actor=None, layer=extra)
