"""Writes of the Slack integration's own data: which channels are community channels."""

from __future__ import annotations

import re

from django.db import transaction

from ceres.accounts.models import Account
from ceres.core.audit.services import Actor, record_change
from ceres.core.errors import Conflict, Invalid, NotFound
from ceres.slack.models import CommunityChannel, ReactionCommand

# A channel id (C0123ABCD) has a digit, which tells it from a name typed by mistake ("general").
_CHANNEL_ID = re.compile(r"^[CG](?=[A-Z0-9]*[0-9])[A-Z0-9]{4,29}$")


def check_channel_id(text: str) -> str:
    channel_id = text.strip().upper()
    if not _CHANNEL_ID.match(channel_id):
        raise Invalid(
            "a Slack channel id such as C0123ABCD (in Slack: the channel's details, at the bottom)",
            field="channel_id",
        )
    return channel_id


@transaction.atomic
def save_community_channel(*, actor: Actor, channel_id: str, name: str = "") -> CommunityChannel:
    """Create a community channel, or rename one (the playbook's `channels`)."""
    channel_id = check_channel_id(channel_id)
    existing = CommunityChannel.objects.filter(channel_id=channel_id).first()
    if existing is None:
        return add_community_channel(actor=actor, channel_id=channel_id, name=name)
    name = " ".join(name.split()).lstrip("#")[:80]
    if existing.name != name:
        record_change(
            actor=actor,
            action="slack.community_channel.rename",
            target=existing,
            target_label=str(existing),
            changes={"name": [existing.name, name]},
        )
        existing.name = name
        existing.save(update_fields=["name"])
    return existing


@transaction.atomic
def add_community_channel(*, actor: Actor, channel_id: str, name: str = "") -> CommunityChannel:
    channel_id = check_channel_id(channel_id)
    name = " ".join(name.split()).lstrip("#")[:80]
    if CommunityChannel.objects.filter(channel_id=channel_id).exists():
        raise Conflict("this channel is already a community channel", field="channel_id")
    if Account.objects.filter(slack_channel_id=channel_id).exists():
        raise Conflict(
            "this channel is a customer's shared channel (on its account)", field="channel_id"
        )
    channel = CommunityChannel.objects.create(channel_id=channel_id, name=name)
    record_change(
        actor=actor,
        action="slack.community_channel.add",
        target=channel,
        target_label=str(channel),
        changes={"channel_id": [None, channel_id], "name": [None, name]},
    )
    return channel


@transaction.atomic
def remove_community_channel(*, actor: Actor, channel_id: str) -> None:
    channel = CommunityChannel.objects.filter(channel_id=channel_id).first()
    if channel is None:
        raise NotFound("no such community channel", field="channel_id")
    record_change(
        actor=actor,
        action="slack.community_channel.remove",
        target=channel,
        target_label=str(channel),
        changes={"channel_id": [channel_id, None]},
    )
    channel.delete()


_REACTION = re.compile(r"^[a-z0-9_+'-]{1,100}$")


@transaction.atomic
def save_reaction_command(*, actor: Actor, reaction: str, command: str) -> ReactionCommand:
    """What a team member's reaction does (`:white_check_mark:` closes, …)."""
    reaction = reaction.strip().strip(":").lower()
    if not _REACTION.match(reaction):
        raise Invalid("an emoji name as Slack writes it, e.g. white_check_mark", field="reaction")
    if command not in ReactionCommand.Command.values:
        known = ", ".join(ReactionCommand.Command.values)
        raise Invalid(f"must be one of {known}", field="command")
    row = ReactionCommand.objects.filter(reaction=reaction).first()
    before = row.command if row is not None else None
    if row is None:
        row = ReactionCommand.objects.create(reaction=reaction, command=command)
    elif row.command != command:
        row.command = command
        row.save(update_fields=["command"])
    if before != command:
        record_change(
            actor=actor,
            action="slack.reaction.save",
            target=row,
            target_label=f":{reaction}:",
            changes={"command": [before, command]},
        )
    return row


@transaction.atomic
def remove_reaction_command(*, actor: Actor, reaction: str) -> None:
    row = ReactionCommand.objects.filter(reaction=reaction).first()
    if row is None:
        raise NotFound("no such reaction command", field="reaction")
    record_change(
        actor=actor,
        action="slack.reaction.remove",
        target=row,
        target_label=f":{reaction}:",
        changes={"command": [row.command, None]},
    )
    row.delete()
