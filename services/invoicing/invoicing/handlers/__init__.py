"""FastStream subscribers of the invoicing service."""
