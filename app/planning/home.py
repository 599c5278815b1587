"""The back office's start page."""

from __future__ import annotations

from app.core.auth import requires
from app.core.web import render
from app.planning import blueprint


@blueprint.get("/")
@requires("planning.view")
async def home() -> str:
    return await render("planning/home.html")
