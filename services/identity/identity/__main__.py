"""`python -m identity` runs the service."""

from identity.app import create_app
from identity.settings import IdentitySettings
from portal_runtime.http import serve

serve(create_app, IdentitySettings())
