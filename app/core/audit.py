"""Writing the audit log. Every service that changes data calls ``record``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, User


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API token, or the system itself."""

    label: str
    user_id: int | None = None
    ip_address: str | None = None

    @classmethod
    def for_user(cls, user: User, ip_address: str | None = None) -> Actor:
        return cls(label=user.email, user_id=user.id, ip_address=ip_address)

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(label=what)


async def record(
    session: AsyncSession,
    actor: Actor,
    code: str,
    obj: Any = None,
    *,
    data: dict[str, Any] | None = None,
    tenant_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits with the change it describes.

    ``code`` is namespaced (``accounts.user.created``); ``data`` must never hold a
    password, a token or a national id number.
    """
    if obj is not None and getattr(obj, "id", "") is None:
        await session.flush()
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        code=code,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        data=data or {},
        ip_address=actor.ip_address,
    )
    if tenant_id is not None:
        entry.tenant_id = tenant_id
    session.add(entry)
    return entry
