"""Redis clients from ``STEMMA_REDIS_URL``: one server, or a master found through Sentinel.

``redis://``, ``rediss://`` and ``unix://`` are read by redis-py itself.
``redis+sentinel://[:password@]host:port[,host:port...]/<master name>[/<db>]`` names the
sentinels and the master they watch: the client asks them where the master is, and asks
again after a failover (a connection to a demoted master is dropped on its first
``READONLY`` answer or error, and the next command goes to the new one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as redis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
SCHEMES = ("redis", "rediss", "unix", SENTINEL_SCHEME)


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelAddress:
    """The sentinels, master name, database and password of a ``redis+sentinel://`` URL;
    ValueError says what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    password = unquote(userinfo.partition(":")[2]) if userinfo else None
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise ValueError("each sentinel is host:port, separated by commas")
        sentinels.append((name.strip("[]"), int(port)))
    path = [part for part in parts.path.split("/") if part]
    if not path or len(path) > 2:
        raise ValueError("the path is /<master name> or /<master name>/<db>")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError("the database after the master name is a number")
    db = int(path[1]) if len(path) == 2 else 0
    return SentinelAddress(tuple(sentinels), unquote(path[0]), db, password or None)


def check_redis_url(url: str) -> None:
    """Raise ValueError for a URL none of the clients would read."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError("must start with redis://, rediss://, unix:// or redis+sentinel://")
    if scheme == SENTINEL_SCHEME:
        parse_sentinel_url(url)


def redis_from_url(url: str, **options: Any) -> redis.Redis:
    """A client for ``url``; ``options`` go to every connection it makes."""
    if urlsplit(url).scheme != SENTINEL_SCHEME:
        return redis.from_url(url, **options)
    address = parse_sentinel_url(url)
    timeouts = {"socket_timeout": 2, "socket_connect_timeout": 2}
    sentinel = Sentinel(list(address.sentinels), sentinel_kwargs=timeouts)
    return sentinel.master_for(
        address.master,
        db=address.db,
        password=address.password,
        socket_connect_timeout=2,
        **options,
    )
