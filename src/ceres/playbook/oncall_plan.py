"""The playbook's on-call sections, `rotations:` and `escalation_chains:`, as the rest of the
playbook sees them: one check, one diff, one write.

    rotations:            -> rotation_layers.py (checks), rotation_plan.py (diff, writes through
                             ceres.oncall.services: schedules and layers)
    escalation_chains:    -> chain_plan.py (ceres.oncall.policies: chains and their steps)

Their shape is in `oncall_schema.py`; the stored schedules and chains, and who the file's names
and roles mean once it is applied, in `oncall_stored.py`. Rotations are written before chains,
so a chain can page a rotation the same file creates.
"""

from __future__ import annotations

from typing import Any

from ceres.playbook import chain_plan, rotation_layers, rotation_plan
from ceres.playbook.changes import Change, Plan
from ceres.playbook.errors import Problem
from ceres.playbook.oncall_stored import AtPath, StoredOncall, stored

__all__ = ["AtPath", "StoredOncall", "check", "plan", "stored", "write"]


def check(spec: Any, state: Any) -> list[Problem]:
    return rotation_layers.check(spec, state) + chain_plan.check(spec, state)


def plan(spec: Any, state: Any, changes: Plan) -> None:
    rotation_plan.rotations(spec, state, changes)
    chain_plan.escalation_chains(spec, state, changes)


def write(change: Change) -> None:
    if change.kind == "rotation":
        rotation_plan.write(change.values)
    elif change.kind == "escalation_chain":
        chain_plan.write(change.values)
    else:  # pragma: no cover - only the two kinds come here
        raise AssertionError(change.kind)
