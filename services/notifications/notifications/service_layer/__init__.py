"""Use cases of the notifications service: queue mail in one transaction, deliver it."""
