"""`python -m invoicing` runs the service."""

from portal_runtime.http import serve

from invoicing.app import create_app
from invoicing.settings import InvoicingSettings

serve(create_app, InvoicingSettings())
