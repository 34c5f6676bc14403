"""`python -m portal_gateway` runs the gateway."""

from portal_runtime.http import serve

from portal_gateway.app import create_app
from portal_gateway.settings import GatewaySettings

serve(create_app, GatewaySettings())
