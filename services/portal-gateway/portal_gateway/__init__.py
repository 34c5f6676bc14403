"""Portal gateway: the portal's HTTP front door, its read models and merchant settings."""
