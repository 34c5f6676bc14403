"""Pure rules of notifications: what an email says and when a failed one is tried again."""
