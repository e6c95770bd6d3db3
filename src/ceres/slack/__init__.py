"""The Slack integration: the Events API and interactivity receivers, the handlers that turn
Slack messages into conversations, and the outbox channel that posts Ceres's replies."""
