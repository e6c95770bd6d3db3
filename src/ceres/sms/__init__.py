"""SMS through Twilio: the "sms" outbox channel that texts the VP of Customer Success (issue 4)
and, later, on-call people (issue 6). See docs/sms.md."""
