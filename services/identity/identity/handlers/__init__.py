"""FastStream subscribers of the identity service."""
