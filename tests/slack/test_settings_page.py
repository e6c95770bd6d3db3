"""The Slack settings page: the app's state, community channels added and removed, the
customer channels and reaction commands listed."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from ceres.accounts.models import Account
from ceres.core.audit.models import AuditEntry
from ceres.slack.models import CommunityChannel
from ceres.team.models import Person

pytestmark = pytest.mark.django_db
URL = "/settings/slack/"


def test_the_page_shows_the_app_and_the_channels(
    client: Client, cse: Person, acme: Account, settings: Settings
) -> None:
    settings.CERES_SLACK_BOT_TOKEN = ""
    client.force_login(cse.user)
    text = client.get(URL).content.decode()
    assert "CERES_SLACK_BOT_TOKEN" in text  # not set, and what to do
    assert "/integrations/slack/events" in text
    assert acme.codename.name in text
    assert "C0ACME" in text
    assert acme.legal_name not in text
    assert ":white_check_mark:" in text
    assert "Add community channel" not in text  # a support engineer only reads


def test_adding_and_removing_a_community_channel(client: Client, vp: Person, acme: Account) -> None:
    client.force_login(vp.user)
    response = client.post(URL, {"channel_id": "c0fleet", "name": "#fleet"})
    assert response.status_code == 302
    channel = CommunityChannel.objects.get()
    assert (channel.channel_id, channel.name) == ("C0FLEET", "fleet")
    for bad, status in (("general", 422), ("C0FLEET", 409), ("C0ACME", 409), ("", 422)):
        refused = client.post(URL, {"channel_id": bad, "name": "x"})
        assert refused.status_code == status, bad
        assert "channel" in refused.content.decode()
    assert CommunityChannel.objects.count() == 1
    assert client.post(f"{URL}community/C0FLEET/remove/").status_code == 302
    assert not CommunityChannel.objects.exists()
    assert client.post(f"{URL}community/C0FLEET/remove/").status_code == 404
    actions = AuditEntry.objects.filter(action__startswith="slack.").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["slack.community_channel.add", "slack.community_channel.remove"]


def test_changing_channels_needs_the_permission(client: Client, cse: Person) -> None:
    client.force_login(cse.user)
    assert client.post(URL, {"channel_id": "C0FLEET"}).status_code == 403
    assert not CommunityChannel.objects.exists()


def test_reaction_commands_are_configured_on_the_page(
    client: Client, vp: Person, cse: Person
) -> None:
    from ceres.slack.models import ReactionCommand

    client.force_login(cse.user)
    assert (
        client.post(f"{URL}reactions/", {"reaction": "rocket", "command": "close"}).status_code
        == 403
    )
    client.force_login(vp.user)
    assert (
        client.post(f"{URL}reactions/", {"reaction": ":Rocket:", "command": "close"}).status_code
        == 302
    )
    assert ReactionCommand.objects.get(reaction="rocket").command == "close"
    assert (
        client.post(f"{URL}reactions/", {"reaction": "rocket", "command": "launch"}).status_code
        == 422
    )
    assert (
        client.post(f"{URL}reactions/", {"reaction": "no spaces", "command": "close"}).status_code
        == 422
    )
    assert client.post(f"{URL}reactions/rocket/remove/").status_code == 302
    assert not ReactionCommand.objects.filter(reaction="rocket").exists()
    assert client.post(f"{URL}reactions/rocket/remove/").status_code == 404


def test_what_slack_sent_is_counted_by_type(client: Client, cse: Person) -> None:
    from ceres.core.inbox.services import record_event

    for n, kind in enumerate(("team_join", "team_join", "emoji_changed")):
        event, _ = record_event(
            provider="slack", event_id=f"Ev{n}", event_type=kind, payload={}, headers={}
        )
        event.status = "ignored"
        event.save()
    client.force_login(cse.user)
    rows = client.get(URL).context["events"]
    assert {(r["event_type"], r["status"], r["count"]) for r in rows} == {
        ("team_join", "ignored", 2),
        ("emoji_changed", "ignored", 1),
    }
