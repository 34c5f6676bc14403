"""Notifications service: the emails the portal sends, queued and delivered with retries."""
