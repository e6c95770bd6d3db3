"""The GitHub integration: the webhook receiver now; the tracker's client and label sync come
with the bug-report workflow (issue 5)."""
