"""Buildings and rooms: a name taken is refused, also beyond ASCII."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.registers.premises import save_building, save_room


async def test_a_name_taken_with_letters_past_ascii_is_refused(
    db: AsyncSession, tenant: Tenant
) -> None:
    """SQLite's ``lower()`` leaves Å, Ä and Ö as they are: the check asked for the
    lowered name alone and let the same name through to the unique constraint (a 500)."""
    actor = Actor.system("test")
    with tenant_scope(tenant.id):
        building = await save_building(db, actor, {"name": "Ängenskolan"})
        with pytest.raises(FieldErrors) as refused:
            await save_building(db, actor, {"name": "Ängenskolan"})
        assert "name" in refused.value.errors
        await save_room(db, actor, building.id, {"name": "Östra salen"})
        with pytest.raises(FieldErrors):
            await save_room(db, actor, building.id, {"name": "Östra salen"})
