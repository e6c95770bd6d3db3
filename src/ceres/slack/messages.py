"""Pure builders of what Ceres sends to Slack (Block Kit), so the words and the shape of a
message live in one place and are tested without a network."""

from __future__ import annotations

import re
from typing import Any

Block = dict[str, Any]
# A Slack message timestamp, its id within a channel: "1764633600.000100".
TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")

ACTION_PREFIX = "automation"
ONLY_THE_SENDER = (
    "Thanks! Only the person who asked can escalate this request. If you have an urgent "
    "issue too, please post it in the channel and we will get the same options to you."
)


def button_action_id(firing_id: int, button: str, option: str) -> str:
    return f"{ACTION_PREFIX}:{firing_id}:{button}:{option}"


def parse_button_action_id(action_id: str) -> tuple[int, str, str] | None:
    """(firing id, button, option) of one of our buttons, or None for anything else."""
    parts = action_id.split(":")
    if len(parts) != 4 or parts[0] != ACTION_PREFIX or not parts[1].isdigit():
        return None
    if len(parts[1]) > 18:
        return None
    return int(parts[1]), parts[2], parts[3]


def text_with_buttons(
    text: str, *, firing_id: int, button: str, options: list[str], label: str = "incident"
) -> list[Block]:
    """The reply, then one button per option ("P0 incident", "P1 incident"), each asking for
    confirmation: a press texts someone at night."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"{ACTION_PREFIX}-{firing_id}-{button}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": f"{option} {label}"},
                    "action_id": button_action_id(firing_id, button, option),
                    "value": option,
                    **({"style": "danger"} if option == "P0" else {}),
                    "confirm": {
                        "title": {"type": "plain_text", "text": f"Report a {option} {label}?"},
                        "text": {
                            "type": "mrkdwn",
                            "text": "We will alert the on-call leadership right away.",
                        },
                        "confirm": {"type": "plain_text", "text": "Yes, escalate"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                }
                for option in options
            ],
        },
    ]


def text_after_press(text: str, *, who: str, option: str, label: str = "incident") -> list[Block]:
    """The same reply once a button was pressed: the buttons give way to what happened."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":rotating_light: Escalated as a {option} {label} by <@{who}>. "
                    "Our on-call leadership has been alerted.",
                }
            ],
        },
    ]
