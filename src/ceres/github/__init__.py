"""The GitHub integration: the signed webhook receiver, the `github` outbox channel, the tracker
backend that mirrors Ceres's issues to GitHub, and the handlers that bring GitHub's changes back
("+" labels, issues, labels, assignees, comments)."""
