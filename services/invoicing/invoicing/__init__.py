"""Invoicing service: invoices, payments and each customer's receivables account."""
