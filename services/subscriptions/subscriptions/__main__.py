"""`python -m subscriptions` runs the service."""

from portal_runtime.http import serve
from subscriptions.app import create_app
from subscriptions.settings import SubscriptionsSettings

serve(create_app, SubscriptionsSettings())
