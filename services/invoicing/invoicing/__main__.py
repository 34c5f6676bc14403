"""`python -m invoicing` runs the service."""

from invoicing.app import create_app
from invoicing.settings import InvoicingSettings
from portal_runtime.http import serve

serve(create_app, InvoicingSettings())
