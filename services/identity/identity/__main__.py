"""`python -m identity` runs the service."""

from portal_runtime.http import serve

from identity.app import create_app
from identity.settings import IdentitySettings

serve(create_app, IdentitySettings())
