"""An event as the hub and the renderers see it: parsed from a broker message or read
from the events table, and sent to sockets as JSON when no renderer draws it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.core.events import TOPIC_PATTERN


@dataclass(frozen=True)
class LiveEvent:
    """An event as the hub and the renderers see it."""

    id: int
    tenant_id: int
    topic: str
    type: str
    payload: dict[str, Any]

    @classmethod
    def from_message(cls, message: str) -> LiveEvent:
        """Parse a broker message; ValueError for anything malformed."""
        data = json.loads(message)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        topic = str(data.get("topic", ""))
        match = TOPIC_PATTERN.match(topic)
        if match is None:
            raise ValueError("bad topic")
        payload = data.get("payload")
        return cls(
            id=int(data["id"]),
            tenant_id=int(match.group("tenant")),
            topic=topic,
            type=str(data["type"]),
            payload=payload if isinstance(payload, dict) else {},
        )

    @classmethod
    def from_row(cls, row: Any) -> LiveEvent:
        """From an ``Event`` or a row of its id, tenant_id, topic, type and payload."""
        return cls(
            id=row.id, tenant_id=row.tenant_id, topic=row.topic, type=row.type, payload=row.payload
        )

    def as_json(self) -> str:
        return json.dumps(
            {"id": self.id, "topic": self.topic, "type": self.type, "payload": self.payload},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
