"""What every service needs, written once: settings, MongoDB, broker, outbox and inbox,
retries and dead letters, telemetry, logging, HTTP health and problem responses."""
