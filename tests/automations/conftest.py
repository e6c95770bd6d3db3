from tests.sla.conftest import handbook_policies  # noqa: F401  (the handbook's SLA policies)
from tests.slack.conftest import slack_settings  # noqa: F401  (signed Slack requests)
