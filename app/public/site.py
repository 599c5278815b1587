"""A municipality's public site at /<tenant>/."""

from __future__ import annotations

from quart import Blueprint

from app.core.web import render

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
async def home() -> str:
    return await render("public/home.html")
