"""Use cases of the invoicing service: load, decide, save and emit in one transaction."""
