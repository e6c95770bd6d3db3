"""The playbook's `channels` section: the Slack channels Ceres listens to besides customers'.

    channels:
      - {slack: C0COMMUNITY, kind: community, name: "fleet"}

A community channel's messages become conversations without an account (docs/slack.md). The
sketch's other kinds (`alarms`, `internal`) belong to on-call, which this version does not run:
they are refused rather than ignored, as unsupported sections are. A channel left out of the
file is kept.
"""

from __future__ import annotations

from typing import Any

from ceres.core.errors import CeresError
from ceres.playbook.changes import Change, Plan
from ceres.playbook.errors import DocPath, Problem
from ceres.playbook.schema import PlaybookSpec
from ceres.slack.models import CommunityChannel
from ceres.slack.services import check_channel_id

KINDS_LATER = {"alarms": "alarm channels", "internal": "internal channels"}


def stored() -> dict[str, str]:
    """Community channels in the database: id -> name."""
    return dict(CommunityChannel.objects.values_list("channel_id", "name"))


def check(spec: PlaybookSpec, state: Any) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, channel in enumerate(spec.channels or []):
        path: DocPath = ("channels", i)
        if channel.kind in KINDS_LATER:
            problems.append(
                Problem(
                    (*path, "kind"),
                    f"{KINDS_LATER[channel.kind]} are not supported yet by this version of "
                    "Ceres (they come with on-call); remove this channel",
                )
            )
            continue
        if channel.kind != "community":
            problems.append(
                Problem((*path, "kind"), f"unknown kind {channel.kind!r}; use community")
            )
            continue
        try:
            channel_id = check_channel_id(channel.slack)
        except CeresError as exc:
            problems.append(Problem((*path, "slack"), exc.message))
            continue
        if channel_id in seen:
            problems.append(
                Problem((*path, "slack"), "listed twice", see=("channels", seen[channel_id]))
            )
        seen.setdefault(channel_id, i)
    return problems


def channels(spec: PlaybookSpec, state: Any, plan: Plan) -> None:
    kept: dict[str, str] = state.community_channels
    if spec.channels is None:
        plan.keep("community_channel", list(kept))
        return
    wanted = []
    for i, channel in enumerate(spec.channels):
        channel_id = channel.slack.strip().upper()
        wanted.append(channel_id)
        name = (channel.name or "").lstrip("#")
        values = {"channel_id": channel_id, "name": name}
        path: DocPath = ("channels", i)
        if channel_id not in kept:
            plan.add(
                Change(
                    "community_channel",
                    channel_id,
                    path,
                    True,
                    f"#{name or channel_id}",
                    (),
                    values,
                )
            )
        elif kept[channel_id] != name:
            fields = (("name", kept[channel_id], name),)
            plan.add(Change("community_channel", channel_id, path, False, "", fields, values))
        else:
            plan.add(None)
    plan.keep("community_channel", [key for key in kept if key not in wanted])
