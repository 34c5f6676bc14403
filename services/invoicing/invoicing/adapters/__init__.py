"""MongoDB repositories of the invoicing service."""
