"""The gateway's MongoDB collections and its client of the identity service."""
