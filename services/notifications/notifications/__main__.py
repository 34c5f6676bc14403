"""`python -m notifications` runs the service."""

from notifications.app import create_app
from notifications.settings import NotificationsSettings
from portal_runtime.http import serve

serve(create_app, NotificationsSettings())
