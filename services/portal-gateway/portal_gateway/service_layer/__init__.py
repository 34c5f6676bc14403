"""Use cases of the gateway: merchants, commands to the services, projections."""
