"""Pure rules of customers and subscriptions: no I/O here."""
