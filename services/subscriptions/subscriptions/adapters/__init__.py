"""MongoDB repositories of the subscriptions service."""
