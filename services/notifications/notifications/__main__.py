"""`python -m notifications` runs the service."""

from portal_runtime.http import serve

from notifications.app import create_app
from notifications.settings import NotificationsSettings

serve(create_app, NotificationsSettings())
