"""The one envelope every command and event travels in."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Tag


class Actor(BaseModel):
    """Who caused a message: a merchant's API key, a portal contact, or the system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["merchant", "contact", "system", "operator"]
    id: str = Field(min_length=1, max_length=200)


SYSTEM = Actor(kind="system", id="system")


class Envelope(BaseModel):
    """Fields every message carries; concrete messages add `type`, `schema_version` and `data`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    organisation_id: str = Field(min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=128)
    causation_id: str | None = Field(default=None, max_length=128)
    actor: Actor = SYSTEM

    @property
    def tag(self) -> str:
        return f"{self.type}.v{self.schema_version}"

    def key(self) -> str:
        """The Kafka key: the aggregate the message is about, so its history stays ordered."""
        data = getattr(self, "data", None)
        for name in ("customer_id", "aggregate_id"):
            value = getattr(data, name, None)
            if value:
                return str(value)
        return self.organisation_id

    def follow_up(self) -> dict[str, Any]:
        """Envelope fields for a message caused by this one (same correlation, this as cause)."""
        return {
            "organisation_id": self.organisation_id,
            "correlation_id": self.correlation_id,
            "causation_id": str(self.event_id),
        }


class UnrecognisedMessage(BaseModel):
    """A message of a type this consumer does not know: read, acknowledged and ignored."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str
    schema_version: int = 1


def message_tag(value: Any) -> str:
    """Discriminator for topic unions: `Type.vN`, or `unrecognised` for types we don't know."""
    from portal_contracts.registry import MESSAGE_TYPES

    if isinstance(value, dict):
        tag = f"{value.get('type')}.v{value.get('schema_version')}"
    else:
        tag = f"{getattr(value, 'type', None)}.v{getattr(value, 'schema_version', None)}"
    return tag if tag in MESSAGE_TYPES else "unrecognised"


Unrecognised = Annotated[UnrecognisedMessage, Tag("unrecognised")]
"""The fallback branch every topic union ends with."""
