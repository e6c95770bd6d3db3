"""Configuration checks (`ceres check`) that guard the outbox's guarantees."""

from __future__ import annotations

from pytest_django import Settings

from ceres.core.checks import check_outbox_lease


def ids(settings: Settings) -> list[str]:
    return [message.id for message in check_outbox_lease(app_configs=None, databases=None)]


def test_a_lease_shorter_than_an_smtp_send_is_flagged(settings: Settings) -> None:
    settings.CERES_SLACK_BOT_TOKEN = ""
    settings.EMAIL_HOST = "smtp.example.com"
    settings.EMAIL_TIMEOUT = 30
    settings.CERES_OUTBOX_LEASE_SECONDS = 30
    assert ids(settings) == ["ceres.W001"]
    settings.CERES_OUTBOX_LEASE_SECONDS = 120
    assert ids(settings) == []


def test_a_lease_shorter_than_three_slack_calls_is_flagged(settings: Settings) -> None:
    settings.EMAIL_HOST = ""
    settings.CERES_SLACK_BOT_TOKEN = "xoxb-1"
    settings.CERES_SLACK_TIMEOUT = 15
    settings.CERES_OUTBOX_LEASE_SECONDS = 45
    assert ids(settings) == ["ceres.W002"]
    settings.CERES_OUTBOX_LEASE_SECONDS = 120
    assert ids(settings) == []
    settings.CERES_SLACK_BOT_TOKEN = ""  # no Slack: nothing to check
    settings.CERES_OUTBOX_LEASE_SECONDS = 10
    assert ids(settings) == []
