"""Use cases of the subscriptions service: load, decide, save and emit in one transaction."""
