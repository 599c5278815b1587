"""The back office's start page."""

from __future__ import annotations

from app.core.auth import requires
from app.core.routes import Routes
from app.core.web import render

routes = Routes()


@routes.get("/")
@requires("planning.view")
async def home() -> str:
    return await render("planning/home.html")
