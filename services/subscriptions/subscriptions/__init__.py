"""Subscriptions service: the system of record for customers and their subscriptions."""
