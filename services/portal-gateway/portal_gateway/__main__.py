"""`python -m portal_gateway` runs the gateway."""

from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings
from portal_runtime.http import serve

serve(create_app, GatewaySettings())
