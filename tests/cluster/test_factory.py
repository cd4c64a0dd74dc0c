"""The client factory: REDIS_URL forms, and one client per shape against the real thing (a Cluster
and a Sentinel setup with a password from the settings), Lua and MULTI/EXEC in one hash slot."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from redis.exceptions import AuthenticationError, RedisClusterException, ResponseError

from bot.core.redis_factory import RedisURLError, connect, mode_of, parse_redis_url, redis_client
from bot.settings import Settings
from tests.cluster.conftest import PASSWORD
from tests.harness.redis_cluster import RedisClusterProcs, RedisSentinelProcs


def test_urls_name_the_three_shapes() -> None:
    single = parse_redis_url("rediss://:pw@cache.example:6380/2")
    assert (single.mode, single.tls) == ("single", True)
    cluster = parse_redis_url("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2")
    assert cluster.mode == "cluster" and cluster.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 6379))
    assert (cluster.username, cluster.password, cluster.tls) == ("u", "p@ss", False)
    assert "p@ss" not in cluster.display and "p%40ss" not in cluster.display
    sentinel = parse_redis_url("rediss+sentinel://s1:26379,[::1]:26380/mymaster/3")
    assert sentinel.mode == "sentinel" and sentinel.tls and sentinel.service == "mymaster"
    assert sentinel.nodes == (("s1", 26379), ("::1", 26380)) and sentinel.db == 3


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://localhost", "unknown scheme"),
        ("redis+sentinel://s1:26379", "name the primary"),
        ("redis+cluster://n1:7000/1", "only database 0"),
        ("redis+cluster://n1:x", "no valid port"),
        ("redis+sentinel://s1/mymaster/zero", "not a database number"),
    ],
)
def test_a_bad_url_says_why(url: str, reason: str) -> None:
    with pytest.raises(RedisURLError, match=reason):
        parse_redis_url(url)


async def _roundtrip(url: str, settings: Settings) -> None:
    client = redis_client(settings.model_copy(update={"redis_url": url}))
    try:
        await client.set("factory:{t}:a", "1")
        script = client.register_script("return redis.call('INCR', KEYS[1]) + redis.call('INCR', KEYS[2])")
        assert await script(keys=["factory:{t}:a", "factory:{t}:b"]) == 3
        async with client.pipeline(transaction=True) as pipe:
            await pipe.watch("factory:{t}:a")
            pipe.multi()
            pipe.incr("factory:{t}:a")
            pipe.delete("factory:{t}:b")
            assert await pipe.execute() == [3, 1]
        assert await client.get("factory:{t}:a") == "3"
        await client.delete("factory:{t}:a")
    finally:
        await client.aclose()


async def test_cluster_client_with_the_password_from_settings(redis_cluster: RedisClusterProcs) -> None:
    settings = Settings(redis_password=SecretStr(PASSWORD))
    await _roundtrip(redis_cluster.url, settings)
    client = connect(redis_cluster.url, settings)
    try:
        assert mode_of(client) == "cluster"
        # keys in two slots are refused (by the client before sending, or CROSSSLOT by the server):
        # the guard the story tests rely on
        with pytest.raises((ResponseError, RedisClusterException), match=r"CROSSSLOT|same (key )?slot"):
            await client.register_script("return redis.call('MGET', KEYS[1], KEYS[2])")(
                keys=["x:{a}", "x:{b}"]
            )
    finally:
        await client.aclose()


async def test_a_fresh_cluster_client_takes_concurrent_commands(redis_cluster: RedisClusterProcs) -> None:
    """Hundreds of commands at once on a client that has not loaded the slot map yet all land
    (redis-py routed them before loading it: MOVED, map reloads closing the other commands'
    connections, ``'NoneType' object has no attribute 'writelines'``)."""
    client = connect(redis_cluster.url, Settings(redis_password=SecretStr(PASSWORD)))
    keys = [f"factory:fresh:{{k{i}}}" for i in range(8)]
    try:
        results = await asyncio.gather(
            *(client.incr(keys[i % len(keys)]) for i in range(400)), return_exceptions=True
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert sorted([int(await client.get(k)) for k in keys]) == [50] * len(keys)
    finally:
        await client.delete(*keys)
        await client.aclose()


async def test_sentinel_client_with_the_password_from_settings(redis_sentinel: RedisSentinelProcs) -> None:
    settings = Settings(redis_password=SecretStr(PASSWORD))
    await _roundtrip(redis_sentinel.url, settings)
    client = connect(redis_sentinel.url, settings)
    try:
        assert mode_of(client) == "sentinel"
    finally:
        await client.aclose()


async def test_a_wrong_password_is_refused_on_both_shapes(
    redis_cluster: RedisClusterProcs, redis_sentinel: RedisSentinelProcs
) -> None:
    wrong = Settings(redis_password=SecretStr("wrong"))
    cluster = connect(redis_cluster.url, wrong)
    sentinel = connect(redis_sentinel.url, wrong)
    try:
        with pytest.raises(RedisClusterException, match="invalid username-password"):
            await cluster.ping()  # type: ignore[misc]
        with pytest.raises(AuthenticationError):
            await sentinel.ping()  # type: ignore[misc]
    finally:
        await cluster.aclose()
        await sentinel.aclose()
