"""Bug reports, duplicate search, the escalation label workflow and feature-request feedback,
on a tracker: the built-in one, or GitHub (the `github` app registers that backend)."""
