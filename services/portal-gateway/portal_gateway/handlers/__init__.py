"""FastStream subscribers of the gateway: the events its read models are built from."""
