"""Reading the playbook's `bug_workflow` section (docs/playbook.md) into a `BugWorkflow`.

The one check of a workflow: the playbook reports its problems with file and line, and
`tracker.config.save_workflow` refuses what it refuses. Every field is optional (the handbook's
default); what is written must be a label GitHub accepts, and labels must not be named twice in
ways the state machine (`workflow.stage_of`, `workflow.MOVES`) cannot run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ceres.accounts.codenames import LABEL_PREFIX
from ceres.tracker.workflow import DEFAULT, BugWorkflow

MAX_LABEL = 50  # GitHub's limit for a label name (tracker.services.MAX_LABEL)
MAX_BUSINESS_DAY = 10
REMOVE_WHEN = ("comment_by_non_team",)
_CALENDAR_KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_BOT_LOGIN = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}(?:\[bot\])?$")
SECTIONS: dict[str, tuple[str, ...]] = {
    "escalate": ("remove", "add"),
    "standup": ("label", "remove_on_business_day", "calendar"),
    "reproduced": ("add",),
    "not_reproduced": ("add",),
    "plus_labels": ("prefix", "remove_when", "ignore_bots"),
    "feature_requests": ("prioritized_label", "feedback_label"),
}
# The top level in the playbook's order, for "fields here: …".
FIELDS = (
    "labels_on_file",
    "escalate",
    "standup",
    "reproduced",
    "not_reproduced",
    "plus_labels",
    "customer_label_prefix",
    "feature_requests",
)

SpecPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecProblem:
    path: SpecPath  # inside the section: ("escalate", "add", 1)
    message: str

    def field(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "bug_workflow"

    def describe(self) -> str:
        return f"{self.field()}: {self.message}"


class _Reader:
    """Reads a spec field by field, the default where a field is left out or wrong, and
    collects every problem (so the playbook reports them all at once)."""

    def __init__(self) -> None:
        self.problems: list[SpecProblem] = []

    def refuse(self, path: SpecPath, message: str) -> None:
        self.problems.append(SpecProblem(path, message))

    def mapping(self, value: Any, path: SpecPath, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.refuse(path, "expected a mapping of fields (key: value)")
            return {}
        for key in value:
            if key not in allowed:
                self.refuse((*path, str(key)), f"unknown field {key!r} ({', '.join(allowed)})")
        return value

    def label(self, value: Any, path: SpecPath, default: str) -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            self.refuse(path, "expected a label name (text)")
            return default
        name = value.strip()
        if not name or len(name) > MAX_LABEL or "," in name or "\x00" in name:
            self.refuse(path, f"a label is 1 to {MAX_LABEL} characters without commas: {name!r}")
            return default
        return name

    def labels(
        self, value: Any, path: SpecPath, default: tuple[str, ...], *, required: bool = False
    ) -> tuple[str, ...]:
        if value is None:
            return default
        if not isinstance(value, list | tuple):
            self.refuse(path, "expected a list of labels")
            return default
        names: list[str] = []
        for i, item in enumerate(value):
            name = self.label(item, (*path, i), "")
            if name and name in names:
                self.refuse((*path, i), f"label {name!r} is listed twice")
            elif name:
                names.append(name)
        if required and not value:
            self.refuse(path, "must list at least one label")
        # An empty list is kept (nothing to remove), unless a label is required.
        return tuple(names) if names or (not value and not required) else default

    def whole_number(self, value: Any, path: SpecPath, default: int, top: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.refuse(path, "expected a whole number")
            return default
        if not 1 <= value <= top:
            self.refuse(path, f"must be 1 to {top} (business days), got {value}")
            return default
        return int(value)

    def choice(
        self,
        value: Any,
        path: SpecPath,
        default: str,
        check: Callable[[str], object],
        message: str,
    ) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not check(value.strip()):
            self.refuse(path, message.format(value=value))
            return default
        return value.strip()


def read_workflow(spec: Mapping[str, Any] | None) -> tuple[BugWorkflow, list[SpecProblem]]:
    """The workflow a spec describes (the defaults for what it leaves out) and its problems."""
    r = _Reader()
    top = r.mapping(spec, (), FIELDS)
    d = DEFAULT
    escalate = r.mapping(top.get("escalate"), ("escalate",), SECTIONS["escalate"])
    standup = r.mapping(top.get("standup"), ("standup",), SECTIONS["standup"])
    reproduced = r.mapping(top.get("reproduced"), ("reproduced",), ("add",))
    not_reproduced = r.mapping(top.get("not_reproduced"), ("not_reproduced",), ("add",))
    plus = r.mapping(top.get("plus_labels"), ("plus_labels",), SECTIONS["plus_labels"])
    features = r.mapping(
        top.get("feature_requests"), ("feature_requests",), SECTIONS["feature_requests"]
    )
    on_file = r.labels(
        top.get("labels_on_file"), ("labels_on_file",), d.labels_on_file, required=True
    )
    bots: list[str] = []
    written = r.labels(plus.get("ignore_bots"), ("plus_labels", "ignore_bots"), ())
    for i, login in enumerate(written):
        if not _BOT_LOGIN.match(login.lower()):
            r.refuse(("plus_labels", "ignore_bots", i), f"{login!r} is not a GitHub login")
        elif login.lower() not in bots:
            bots.append(login.lower())
    workflow = BugWorkflow(
        labels_on_file=on_file,
        bug_label=on_file[0],
        escalate_remove=r.labels(escalate.get("remove"), ("escalate", "remove"), d.escalate_remove),
        escalate_add=r.labels(
            escalate.get("add"), ("escalate", "add"), d.escalate_add, required=True
        ),
        standup_label=r.label(standup.get("label"), ("standup", "label"), d.standup_label),
        remove_on_business_day=r.whole_number(
            standup.get("remove_on_business_day"),
            ("standup", "remove_on_business_day"),
            d.remove_on_business_day,
            MAX_BUSINESS_DAY,
        ),
        calendar=r.choice(
            standup.get("calendar"),
            ("standup", "calendar"),
            d.calendar,
            _CALENDAR_KEY.match,
            "{value!r} is not a calendar key (lower-case letters, digits and dashes)",
        ),
        reproduced_add=r.labels(
            reproduced.get("add"), ("reproduced", "add"), d.reproduced_add, required=True
        ),
        not_reproduced_add=r.labels(
            not_reproduced.get("add"), ("not_reproduced", "add"), d.not_reproduced_add
        ),
        plus_prefix=r.choice(
            plus.get("prefix"),
            ("plus_labels", "prefix"),
            d.plus_prefix,
            lambda text: 0 < len(text) <= 10 and "," not in text,
            "a prefix is 1 to 10 characters without commas, got {value!r}",
        ),
        plus_remove_when=r.choice(
            plus.get("remove_when"),
            ("plus_labels", "remove_when"),
            d.plus_remove_when,
            REMOVE_WHEN.__contains__,
            "{value!r}: the one rule is " + ", ".join(REMOVE_WHEN),
        ),
        ignore_bots=tuple(bots),
        customer_label_prefix=r.choice(
            top.get("customer_label_prefix"),
            ("customer_label_prefix",),
            d.customer_label_prefix,
            LABEL_PREFIX.__eq__,
            f"{{value!r}}: accounts' labels are {LABEL_PREFIX}<codename>, so the prefix is "
            f"{LABEL_PREFIX!r} (another one is not supported yet)",
        ),
        customer_request_label=r.label(
            features.get("prioritized_label"),
            ("feature_requests", "prioritized_label"),
            d.customer_request_label,
        ),
        feedback_label=r.label(
            features.get("feedback_label"),
            ("feature_requests", "feedback_label"),
            d.feedback_label,
        ),
    )
    if not r.problems:
        r.problems += _contradictions(workflow)
    return workflow, r.problems


def _contradictions(wf: BugWorkflow) -> list[SpecProblem]:
    """Labels named twice in ways the state machine (`stage_of`, `MOVES`) cannot run."""
    found: list[SpecProblem] = []
    escalate_add: SpecPath = ("escalate", "add")
    for i, name in enumerate(wf.escalate_remove):
        if name in wf.escalate_add:
            found.append(
                SpecProblem(("escalate", "remove", i), f"{name!r} is both removed and added")
            )
    if wf.standup_label not in wf.escalate_add:
        found.append(
            SpecProblem(
                escalate_add,
                f"must add the stand-up label {wf.standup_label!r} (standup.label): "
                "escalating puts a bug on the stand-up board",
            )
        )
    for path, names in (
        (("labels_on_file",), wf.labels_on_file),
        (escalate_add, wf.escalate_add),
        (("not_reproduced", "add"), wf.not_reproduced_add),
    ):
        for i, name in enumerate(names):
            if name in wf.reproduced_add:
                found.append(
                    SpecProblem(
                        (*path, i),
                        f"{name!r} marks a bug as reproduced (reproduced.add); "
                        "it cannot be added before that",
                    )
                )
    for path, names in (
        (("labels_on_file",), wf.labels_on_file),
        (("reproduced", "add"), wf.reproduced_add),
        (("not_reproduced", "add"), wf.not_reproduced_add),
    ):
        for i, name in enumerate(names):
            if name == wf.standup_label:
                found.append(
                    SpecProblem(
                        (*path, i),
                        f"{name!r} is the stand-up label (standup.label), which only "
                        "escalating adds",
                    )
                )
    tracked: dict[SpecPath, tuple[str, ...]] = {
        ("labels_on_file",): wf.labels_on_file,
        escalate_add: wf.escalate_add,
        ("reproduced", "add"): wf.reproduced_add,
        ("not_reproduced", "add"): wf.not_reproduced_add,
    }
    singles: dict[SpecPath, str] = {
        ("standup", "label"): wf.standup_label,
        ("feature_requests", "prioritized_label"): wf.customer_request_label,
        ("feature_requests", "feedback_label"): wf.feedback_label,
    }
    named: list[tuple[SpecPath, str]] = [
        ((*p, i), n) for p, names in tracked.items() for i, n in enumerate(names)
    ]
    for at, name in named + list(singles.items()):
        if name.startswith(wf.plus_prefix):
            found.append(
                SpecProblem(
                    at,
                    f'{name!r} starts with the "+" labels\' prefix {wf.plus_prefix!r} '
                    "(plus_labels.prefix): a customer's comment would remove it",
                )
            )
        elif name.startswith(wf.customer_label_prefix):
            found.append(
                SpecProblem(
                    at,
                    f"{name!r} starts with {wf.customer_label_prefix!r}, "
                    "the prefix of customers' labels",
                )
            )
    if wf.feedback_label == wf.customer_request_label:
        found.append(
            SpecProblem(
                ("feature_requests", "feedback_label"),
                f"{wf.feedback_label!r} is also prioritized_label; they mark different steps",
            )
        )
    return found
