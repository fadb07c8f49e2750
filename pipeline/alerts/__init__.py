"""Change alerts by email: exactly once, never lost, never noise.

After each `run` or `import`, pipeline.alerts.stage picks the run's new events that the
rules of `config/alerts.toml` match, queues one digest per recipient (pipeline.alerts.digest),
queues operator alerts for failing sources (pipeline.alerts.operator), and flushes the
durable outbox over SMTP (pipeline.alerts.outbox, pipeline.alerts.smtp).  Commands:
`pricewatch alerts test | pending | flush` (pipeline.alerts.cli).
"""

EXIT_MAIL_PENDING = 3  # the run stored everything, but mail waits in the outbox
