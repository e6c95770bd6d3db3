"""The page's Slack buttons: Acknowledge and Resolve, pressed in the DM Ceres sent.

The press arrives signed, is stored by the interactivity receiver and handled here in a task
(`ceres.slack.interactions`). The presser must be a team member paged for the alarm; whatever
happens, the DM's message is updated (through the outbox) so the buttons give way to what was
done, or the presser is told in the DM why nothing was.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from ceres.core.errors import CeresError
from ceres.oncall import escalation, paging
from ceres.slack import outbox as slack_outbox
from ceres.slack.interactions import ButtonPress, register_button
from ceres.slack.lookups import team_member

log = logging.getLogger(__name__)


def register() -> None:
    register_button(paging.BUTTON_PREFIX, on_press)


def on_press(press: ButtonPress) -> None:
    parsed = paging.parse_action_id(press.action_id)
    if parsed is None:
        return
    alarm_id, action = parsed
    person = team_member(press.slack_user_id)
    now = timezone.now()
    if person is None:
        log.warning("alarm %s: %s pressed by %s, not a team member", alarm_id, action, press)
        return
    try:
        if action == paging.ACKNOWLEDGE:
            alarm = escalation.acknowledge(
                actor=person.user, alarm_id=alarm_id, person=person, now=now
            )
            note = f":eyes: Acknowledged by <@{press.slack_user_id}> at {now:%H:%M} UTC."
        else:
            alarm = escalation.resolve(actor=person.user, alarm_id=alarm_id, person=person, now=now)
            note = f":white_check_mark: Resolved by <@{press.slack_user_id}> at {now:%H:%M} UTC."
    except CeresError as exc:
        log.info("alarm %s: %s by %s refused: %s", alarm_id, action, person.pk, exc)
        slack_outbox.send_dm(
            idempotency_key=f"oncall-alarm-{alarm_id}-{action}-refused-{person.pk}-"
            f"{int(now.timestamp())}",
            user=press.slack_user_id,
            text=f"Nothing done: {exc}",
        )
        return
    if press.channel_id and press.message_ts:
        text = press.message_text or paging.describe(alarm)
        slack_outbox.update_message(
            idempotency_key=f"oncall-alarm-{alarm.pk}-{action}-{press.channel_id}-"
            f"{press.message_ts}",
            channel=press.channel_id,
            ts=press.message_ts,
            thread_ts=None,
            text=text,
            blocks=paging.answered_blocks(text, note),
        )
