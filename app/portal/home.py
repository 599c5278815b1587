"""The portal's start page."""

from __future__ import annotations

from app.core.auth import requires
from app.core.web import render
from app.portal import blueprint


@blueprint.get("/")
@requires("portal.use")
async def home() -> str:
    return await render("portal/home.html")
