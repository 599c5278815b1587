"""Live updates: the broker between processes; the hub, sockets and push build on it."""
