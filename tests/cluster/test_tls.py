"""TLS in the shapes that take it: ``rediss://`` (one server) and ``rediss+cluster://`` (a Cluster
whose nodes, bus and replication speak only TLS), with certificates from a throwaway CA made at
test time, the CA named by ``REDIS_TLS_CA_FILE`` and the password from the settings. A client that
does not trust the CA is refused: the certificate is checked, not just encrypted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from bot.core.redis_factory import connect, mode_of
from bot.settings import Settings
from tests.cluster.conftest import PASSWORD
from tests.harness.redis_cluster import RedisClusterProcs, RedisTLSServer, redis_has_tls

pytestmark = pytest.mark.skipif(not redis_has_tls(), reason="this redis-server was built without TLS")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[RedisTLSServer]:
    procs = RedisTLSServer(password=PASSWORD)
    try:
        yield procs.start()
    finally:
        procs.stop()


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[RedisClusterProcs]:
    # three primaries without replicas: TLS is what is checked here, failover is in test_story
    procs = RedisClusterProcs(password=PASSWORD, primaries=3, replicas=0, tls=True)
    try:
        yield procs.start()
    finally:
        procs.stop()


def _settings(ca: str | None) -> Settings:
    return Settings(redis_password=SecretStr(PASSWORD), redis_tls_ca_file=ca)


async def _script_and_transaction(url: str, settings: Settings) -> None:
    client = connect(url, settings)
    try:
        script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        assert await script(keys=["tls:{t}:n"], args=[5]) == 5
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr("tls:{t}:n")
            pipe.get("tls:{t}:n")
            assert await pipe.execute() == [6, "6"]
        await client.delete("tls:{t}:n")
    finally:
        await client.aclose()


async def test_rediss_single_server(tls_server: RedisTLSServer) -> None:
    assert tls_server.tls is not None
    await _script_and_transaction(tls_server.url, _settings(str(tls_server.tls.ca)))
    untrusting = connect(tls_server.url, _settings(None))
    try:
        with pytest.raises(RedisConnectionError, match="certificate verify failed"):
            await untrusting.ping()  # type: ignore[misc]
    finally:
        await untrusting.aclose()


async def test_rediss_cluster(tls_cluster: RedisClusterProcs) -> None:
    assert tls_cluster.tls is not None and tls_cluster.url.startswith("rediss+cluster://")
    settings = _settings(str(tls_cluster.tls.ca))
    client = connect(tls_cluster.url, settings)
    try:
        assert mode_of(client) == "cluster"
        # keys on every primary: each node's TLS connection, not just the first one's
        keys = [f"tls:{{k{i}}}" for i in range(12)]
        for key in keys:
            await client.set(key, key)
        assert [await client.get(k) for k in keys] == keys
        assert isinstance(client, RedisCluster)
        assert len({client.get_node_from_key(k).port for k in keys}) == 3
        await client.delete(*keys)
    finally:
        await client.aclose()
    await _script_and_transaction(tls_cluster.url, settings)
    untrusting = connect(tls_cluster.url, _settings(None))
    try:
        with pytest.raises((RedisClusterException, RedisConnectionError), match="certificate verify failed"):
            await untrusting.ping()  # type: ignore[misc]
    finally:
        await untrusting.aclose()
