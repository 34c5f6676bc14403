"""FastStream subscribers of the subscriptions service."""
