"""HTTP routes of the gateway: operator, merchant admin API and the customer portal."""
