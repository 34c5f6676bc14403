"""FastStream subscribers of the notifications service."""
