"""The playbook's `bug_workflow` section and `organization.public_tracker` /
`confidential_tracker`: their checks and their diff.

    organization:
      public_tracker: github:example-vendor/product      # or builtin:public
      confidential_tracker: github:example-vendor/confidential
    bug_workflow:
      labels_on_file: [bug, ":incoming", ":reproduce"]
      escalate: {remove: [":incoming", ":reproduce"], add: ["~investigate", ":help-customers"]}
      standup: {label: "~investigate", remove_on_business_day: 2, calendar: support}
      …

The workflow is read by the tracker's own reader (`tracker.workflow_spec.read_workflow`), the
check `tracker.config.save_workflow` makes too; its problems are pointed at the key they are
about. The section describes the whole workflow (a field left out takes the handbook's default)
and is compared field by field with the stored one. A playbook without the section, or without a
tracker, keeps what is stored (trackers never set follow the server settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ceres.playbook.changes import Change, Plan, compare
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import BugWorkflowSpec, PlaybookSpec
from ceres.tracker.models import TrackerSettings
from ceres.tracker.workflow import BugWorkflow
from ceres.tracker.workflow_spec import read_workflow

TRACKERS = (("public", "public_tracker"), ("confidential", "confidential_tracker"))
SERVER_SETTINGS = "(server settings)"


@dataclass(frozen=True)
class StoredTrackerSettings:
    workflow: dict[str, Any]  # the stored spec; {} when no playbook set one (the defaults)
    public_tracker: str  # "" when the server settings decide
    confidential_tracker: str


def stored() -> StoredTrackerSettings | None:
    row = TrackerSettings.objects.filter(key=TrackerSettings.SINGLETON_KEY).first()
    if row is None:
        return None
    return StoredTrackerSettings(
        workflow=dict(row.workflow or {}),
        public_tracker=row.public_tracker,
        confidential_tracker=row.confidential_tracker,
    )


def _spec_of(section: BugWorkflowSpec) -> dict[str, Any]:
    return section.model_dump(exclude_none=True)


def _calendars(spec: PlaybookSpec, state: Any) -> list[str]:
    """The file's calendars in its order, then the database's others."""
    return list(dict.fromkeys([*(spec.calendars or {}), *state.calendars]))


def _trackers_after(spec: PlaybookSpec, state: Any) -> dict[str, str]:
    """Each tracker field as it will be stored: the file's, else the stored one."""
    kept: StoredTrackerSettings | None = state.tracker
    after = {}
    for _, field in TRACKERS:
        written = getattr(spec.organization, field, None) if spec.organization else None
        after[field] = written if written is not None else getattr(kept, field, "")
    return after


def check(spec: PlaybookSpec, state: Any) -> list[Problem]:
    problems: list[Problem] = []
    section = spec.bug_workflow
    if section is not None:
        _, found = read_workflow(_spec_of(section))
        problems += [Problem(("bug_workflow", *p.path), p.message) for p in found]
        calendar = section.standup.calendar if section.standup else None
        calendars = _calendars(spec, state)
        bad_key = any(p.path == ("standup", "calendar") for p in found)
        if calendar is not None and not bad_key and calendar not in calendars:
            known = ", ".join(calendars) or "none defined"
            problems.append(
                Problem(
                    ("bug_workflow", "standup", "calendar"),
                    f"unknown calendar {calendar!r}; known calendars: {known}",
                )
            )
    after = _trackers_after(spec, state)
    public, confidential = after["public_tracker"], after["confidential_tracker"]
    if public and public.casefold() == confidential.casefold():
        written = spec.organization is not None and spec.organization.confidential_tracker
        field = "confidential_tracker" if written else "public_tracker"
        problems.append(
            Problem(
                ("organization", field),
                f"{public} is also the "
                f"{'public' if field == 'confidential_tracker' else 'confidential'} tracker; "
                "the public one shows codenames only, so they must differ",
            )
        )
    return problems


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    text = str(value)
    return repr(text) if not text or " " in text else text


def _summary(workflow: BugWorkflow) -> str:
    return (
        f"labels on file {_show(list(workflow.labels_on_file))}; escalate adds "
        f"{_show(list(workflow.escalate_add))}; {workflow.standup_label} comes off on business "
        f"day {workflow.remove_on_business_day} of {workflow.calendar}"
    )


def bug_workflow(spec: PlaybookSpec, state: Any, plan: Plan) -> None:
    kept: StoredTrackerSettings | None = state.tracker
    before_spec = kept.workflow if kept is not None else {}
    section = spec.bug_workflow
    if section is None:
        if before_spec:
            plan.kept.append("  bug_workflow: not in playbook, kept")
        return
    wanted, _ = read_workflow(_spec_of(section))
    values = {"spec": wanted.to_spec()}
    path: DocPath = ("bug_workflow",)
    standup = section.standup
    if (standup is None or standup.calendar is None) and wanted.calendar not in _calendars(
        spec, state
    ):
        plan.warnings.append(
            Problem(
                path,
                f"the stand-up board's calendar {wanted.calendar!r} (the default) does not "
                "exist, so its business days are Monday to Friday in UTC; name a calendar in "
                "standup.calendar",
            )
        )
    if not before_spec:
        plan.add(Change("bug_workflow", "", path, True, _summary(wanted), (), values))
        return
    before = read_workflow(before_spec)[0].spec_fields()
    after = wanted.spec_fields()
    fields = compare({name: (before.get(name), value) for name, value in after.items()})
    shown = tuple(f"{name} {_show(old)} -> {_show(new)}" for name, old, new in fields)
    change = Change("bug_workflow", "", path, False, "", fields, values, shown)
    plan.add(change if fields else None)


def trackers(spec: PlaybookSpec, state: Any, plan: Plan) -> None:
    kept: StoredTrackerSettings | None = state.tracker
    organization = spec.organization
    for visibility, field in TRACKERS:
        before: str = getattr(kept, field, "")
        wanted: str | None = getattr(organization, field, None) if organization else None
        if wanted is None:
            if before:
                plan.keep("tracker", [visibility])
            continue
        path: DocPath = ("organization", field)
        values = {visibility: wanted}
        if wanted == before:
            plan.add(None)
        elif not before:
            plan.add(Change("tracker", visibility, path, True, wanted, (), values))
        else:
            fields = ((field, before, wanted),)
            shown = (f"{before} -> {wanted or SERVER_SETTINGS}",)
            plan.add(Change("tracker", visibility, path, False, "", fields, values, shown))
