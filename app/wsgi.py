"""Entry points for Hypercorn running several worker processes (`stemma serve --workers N`)."""

from hypercorn.middleware import ProxyFixMiddleware

from app import create_app
from app.realtime.serving import tune_garbage_collector

app = create_app()
proxied_app = ProxyFixMiddleware(app, mode="legacy", trusted_hops=1)
tune_garbage_collector()
