"""Pure rules of invoicing: no I/O here."""
