"""Use cases of the identity service: load, decide, save and emit in one transaction."""
