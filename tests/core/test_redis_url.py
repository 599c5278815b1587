"""Redis URLs: one server, or the master a group of sentinels watches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.redis_url import check_redis_url, parse_sentinel_url, redis_from_url
from app.core.settings import SettingsError, load_settings


def test_it_reads_the_sentinels_the_master_and_the_database() -> None:
    address = parse_sentinel_url(
        "redis+sentinel://:s%40cret@127.0.0.1:26390,10.0.0.2:26391,[::1]:26392/stemma/2"
    )
    assert address.sentinels == (("127.0.0.1", 26390), ("10.0.0.2", 26391), ("::1", 26392))
    assert (address.master, address.db, address.password) == ("stemma", 2, "s@cret")
    plain = parse_sentinel_url("redis+sentinel://127.0.0.1:26390/stemma")
    assert (plain.db, plain.password) == (0, None)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://127.0.0.1/stemma", "host:port"),
        ("redis+sentinel://127.0.0.1:26390", "master name"),
        ("redis+sentinel://127.0.0.1:26390/stemma/zero", "a number"),
        ("memcached://127.0.0.1:11211", "redis+sentinel://"),
    ],
)
def test_it_refuses_a_url_it_cannot_read_and_says_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        check_redis_url(url)


def test_settings_take_a_sentinel_url_and_refuse_a_broken_one(tmp_path: Path) -> None:
    url = "redis+sentinel://127.0.0.1:26390,127.0.0.1:26391/stemma/0"
    assert load_settings(data_dir=tmp_path, redis_url=url).redis_url == url
    with pytest.raises(SettingsError, match="STEMMA_REDIS_URL"):
        load_settings(data_dir=tmp_path, redis_url="redis+sentinel://127.0.0.1/stemma")


async def test_it_makes_a_client_of_the_master_through_the_sentinels() -> None:
    client = redis_from_url("redis+sentinel://127.0.0.1:26390/stemma/3", decode_responses=True)
    try:
        pool = client.connection_pool
        assert pool.service_name == "stemma"  # type: ignore[attr-defined]
        assert pool.connection_kwargs["db"] == 3
    finally:
        await client.aclose()
