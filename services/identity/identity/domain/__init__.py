"""Pure rules of portal access: no I/O here."""
