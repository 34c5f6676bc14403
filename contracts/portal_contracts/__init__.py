"""Wire contracts shared by every service: the envelope, commands, events and topics."""

from portal_contracts.envelope import Actor, Envelope, UnrecognisedMessage, message_tag
from portal_contracts.registry import MESSAGE_TYPES, parse_message

__all__ = [
    "MESSAGE_TYPES",
    "Actor",
    "Envelope",
    "UnrecognisedMessage",
    "message_tag",
    "parse_message",
]
