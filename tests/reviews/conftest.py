from tests.slack.conftest import slack_settings  # noqa: F401  (signed Slack requests)
