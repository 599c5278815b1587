"""Entry points for Hypercorn running several worker processes (`stemma serve --workers N`)."""

from hypercorn.middleware import ProxyFixMiddleware

from app import create_app

app = create_app()
proxied_app = ProxyFixMiddleware(app, mode="legacy", trusted_hops=1)
