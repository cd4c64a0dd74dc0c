"""One factory for every Redis client the bot builds: a single server, a Redis Cluster or a
primary watched by Sentinel, chosen by the URL's scheme, with TLS and a password in all three.

=============================================  =================================================
``REDIS_URL``                                  shape
=============================================  =================================================
``redis://host:6379/0``, ``rediss://…``        one server (or a managed endpoint that hides
                                               its failover behind one address); ``unix://`` too
``redis+cluster://h1:7000,h2:7001``            Redis Cluster: any reachable nodes; the client
``rediss+cluster://…``                         learns the slot map and follows MOVED/ASK
``redis+sentinel://h1:26379,h2:26379/mymaster``  Sentinel: the sentinels and the primary's name
``rediss+sentinel://…/mymaster/0``             (an optional database number after it)
=============================================  =================================================

``rediss`` turns TLS on for every connection (sentinels included); ``REDIS_TLS_CA_FILE`` names the
CA bundle that signs the servers' certificates. The password (and ACL user) comes from the URL or,
better, from the settings' secrets ``REDIS_PASSWORD`` / ``REDIS_USERNAME`` (environment or
``CHATOPS_SECRETS_DIR``); sentinels that have their own password take ``REDIS_SENTINEL_PASSWORD``.

Every client retries a connection error or timeout a few times with a short backoff: a Sentinel
client then asks the sentinels for the current primary, a Cluster client refreshes its slot map,
so the bot follows a failover on its own. Past the retries the caller gets the error (the intake
answers 503, a user is told the state store is down).

The Cluster client is returned typed as :class:`redis.asyncio.Redis`: it offers the same command
methods (``register_script``, ``pipeline``, streams), and the rest of the code keeps one type. Every
multi-key script or transaction keeps its keys in one hash slot (see :mod:`bot.keys`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import unquote

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.cluster import PRIMARY, REPLICA
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

Mode = Literal["single", "cluster", "sentinel"]
SCHEMES: dict[str, tuple[Mode, bool]] = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("single", False),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}
DEFAULT_PORTS: dict[Mode, int] = {"single": 6379, "cluster": 6379, "sentinel": 26379}


class RedisURLError(ValueError):
    """REDIS_URL cannot be understood (the message says why and shows the accepted forms)."""


@dataclass(frozen=True)
class RedisTarget:
    """What a REDIS_URL names."""

    mode: Mode
    url: str
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()
    service: str | None = None  # Sentinel: the primary's name
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """The URL without credentials (for logs and messages)."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"


FORMS = (
    "redis://[user:password@]host:port/db, rediss://… (TLS), "
    "redis+cluster://host:port[,host:port…], "
    "redis+sentinel://host:26379[,host:26379…]/primary-name[/db]"
)


def parse_redis_url(url: str) -> RedisTarget:
    """Read a REDIS_URL (see the module's table); :class:`RedisURLError` when it names nothing."""
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise RedisURLError(f"REDIS_URL {url.split('@')[-1]!r}: unknown scheme; expected one of {FORMS}")
    mode, tls = SCHEMES[scheme]
    if mode == "single":
        return RedisTarget(mode="single", url=url.strip(), tls=tls)
    netloc, _, path = rest.partition("/")
    path = path.split("?", 1)[0]
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon else None
    nodes = tuple(_host_port(h, DEFAULT_PORTS[mode], url) for h in hosts.split(",") if h.strip())
    if not nodes:
        raise RedisURLError(f"REDIS_URL {url.split('@')[-1]!r}: no host; expected one of {FORMS}")
    parts = [p for p in path.split("/") if p]
    service: str | None = None
    db = 0
    if mode == "sentinel":
        if not parts:
            raise RedisURLError(
                f"REDIS_URL {url.split('@')[-1]!r}: name the primary after the sentinels, e.g. "
                "redis+sentinel://host:26379/mymaster"
            )
        service = unquote(parts[0])
        parts = parts[1:]
    if parts:
        if not parts[0].isdigit():
            raise RedisURLError(f"REDIS_URL {url.split('@')[-1]!r}: {parts[0]!r} is not a database number")
        db = int(parts[0])
        if mode == "cluster" and db != 0:
            raise RedisURLError("Redis Cluster has only database 0")
    return RedisTarget(
        mode=mode,
        url=url.strip(),
        tls=tls,
        nodes=nodes,
        service=service,
        db=db,
        username=username,
        password=password,
    )


def _host_port(text: str, default: int, url: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [ipv6]:port
        host, _, tail = text[1:].partition("]")
        port_text = tail.lstrip(":")
    else:
        host, _, port_text = text.rpartition(":") if ":" in text else (text, "", "")
    if port_text and not port_text.isdigit():
        raise RedisURLError(f"REDIS_URL {url.split('@')[-1]!r}: {text!r} has no valid port")
    return host, int(port_text) if port_text else default


@dataclass(frozen=True)
class ClientOptions:
    """Connection behaviour shared by every client (the defaults suit the bot's web and workers)."""

    decode_responses: bool = True
    socket_timeout: float | None = 5.0
    socket_connect_timeout: float = 3.0
    health_check_interval: float = 30.0
    retries: int = 4  # transient connection errors (failover, restart) retried with backoff
    max_connections: int | None = None


def _credentials(target: RedisTarget, settings: Settings | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    username = target.username
    password = target.password
    if settings is not None:
        username = username or (settings.redis_username or None)
        password = password or (settings.redis_password.get_secret_value() or None)
    if username:
        out["username"] = username
    if password:
        out["password"] = password
    return out


def _tls(target: RedisTarget, settings: Settings | None) -> dict[str, Any]:
    if not target.tls:
        return {}
    out: dict[str, Any] = {"ssl": True}
    if settings is not None and settings.redis_tls_ca_file:
        out["ssl_ca_certs"] = settings.redis_tls_ca_file
    return out


def _retry(opts: ClientOptions) -> Retry:
    return Retry(ExponentialBackoff(cap=1.0, base=0.05), opts.retries)


class _ClosedWriterGuard(Connection):
    """A cluster node's connection that answers a write on a socket another task closed with a
    retryable :class:`ConnectionError` instead of ``AttributeError: 'NoneType' object has no
    attribute 'writelines'``.

    redis-py's asyncio Cluster client closes *every* connection of every node (in-use ones too)
    when it rebuilds its slot map (after a few MOVED, on CLUSTERDOWN, on a pipeline's connection
    error), so a command another task is about to send finds its writer gone. Nothing was written
    at that point, so the command is safe to retry; the client retries only ``ConnectionError``."""

    async def _send_packed_command(self, command: Iterable[bytes]) -> None:
        writer = self._writer
        if writer is None or writer.transport is None or writer.transport.is_closing():
            raise RedisConnectionError(f"connection to {self.host}:{self.port} was closed before the write")
        await super()._send_packed_command(command)


class _ClosedWriterGuardTLS(_ClosedWriterGuard, SSLConnection):
    """The same guard for ``rediss+cluster://``."""


class _Cluster(RedisCluster):
    """The Cluster client, initialised before its first command.

    redis-py picks a command's route before it loads the slot map: while the map is not loaded yet
    (the first commands, or right after it rebuilt the map) a keyed command goes to an arbitrary
    node, gets MOVED, and a handful of those make the client rebuild the map again, closing every
    connection under the other tasks' commands: under concurrency that never settles (the bench's
    first Cluster run failed that way). Loading the map first, once, under the client's own lock,
    breaks the loop."""

    def __init__(self, *args: Any, tls: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        guard = _ClosedWriterGuardTLS if tls else _ClosedWriterGuard
        self.connection_kwargs["connection_class"] = guard  # nodes found later
        for node in self.nodes_manager.startup_nodes.values():
            node.connection_class = guard

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)

    async def initialize(self) -> RedisCluster:
        """Load the slot map, then mark each known node primary or replica as the map says.

        redis-py keeps its old node objects across a reload and does not update their role, so
        after a failover the promoted replica stayed a "replica" in the node list while it served
        the slots: ``SCRIPT LOAD`` (sent to the primaries) never reached it and every script on
        those slots failed with NOSCRIPT for good (the story test's stalled alert threads)."""
        await super().initialize()
        manager = self.nodes_manager
        primaries = {nodes[0].name for nodes in manager.slots_cache.values() if nodes}
        for node in manager.nodes_cache.values():
            node.server_type = PRIMARY if node.name in primaries else REPLICA
        return self

    async def script_load(self, script: Any) -> str:
        """Load a script on every node, replicas too, so a replica promoted by a failover already
        has it (a replica does not get the script cache through replication)."""
        return str(await self.execute_command("SCRIPT LOAD", script, target_nodes=RedisCluster.ALL_NODES))


def connect(
    url: str, settings: Settings | None = None, options: ClientOptions | None = None
) -> aioredis.Redis:
    """A client for ``url`` in the shape it names (nothing is sent until the first command)."""
    opts = options or ClientOptions()
    target = parse_redis_url(url)
    common: dict[str, Any] = {
        "decode_responses": opts.decode_responses,
        "socket_timeout": opts.socket_timeout,
        "socket_connect_timeout": opts.socket_connect_timeout,
        "health_check_interval": opts.health_check_interval,
        **_credentials(target, settings),
    }
    if opts.max_connections is not None:
        common["max_connections"] = opts.max_connections
    tls = _tls(target, settings)
    if target.mode == "cluster":
        cluster = _Cluster(
            tls=target.tls,
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            retry=_retry(opts),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            **common,
            **tls,
        )
        return cast(aioredis.Redis, cluster)
    if target.mode == "sentinel":
        assert target.service is not None
        sentinel_kwargs: dict[str, Any] = {
            "socket_timeout": opts.socket_timeout,
            "socket_connect_timeout": opts.socket_connect_timeout,
            **tls,
        }
        if settings is not None and settings.redis_sentinel_password.get_secret_value():
            sentinel_kwargs["password"] = settings.redis_sentinel_password.get_secret_value()
        sentinel = Sentinel(list(target.nodes), sentinel_kwargs=sentinel_kwargs, **tls)
        return sentinel.master_for(
            target.service,
            redis_class=aioredis.Redis,
            db=target.db,
            retry=_retry(opts),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            **common,
        )
    # rediss:// already selects the TLS connection class; ``ssl=True`` on top of it reaches the
    # connection as an unknown argument (TypeError), so only the CA goes along
    return aioredis.Redis.from_url(
        target.url,
        retry=_retry(opts),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        **common,
        **{k: v for k, v in tls.items() if k != "ssl"},
    )


def redis_client(settings: Settings, options: ClientOptions | None = None) -> aioredis.Redis:
    """The client for the settings' REDIS_URL and secrets: what every part of the bot uses."""
    return connect(settings.redis_url, settings, options)


def mode_of(client: aioredis.Redis) -> Mode:
    """Which shape a client built here talks to."""
    if isinstance(client, RedisCluster):
        return "cluster"
    pool = getattr(client, "connection_pool", None)
    if pool is not None and type(pool).__name__ == "SentinelConnectionPool":
        return "sentinel"
    return "single"


async def write_and_wait(
    client: aioredis.Redis,
    key: str,
    command: tuple[Any, ...],
    *,
    replicas: int,
    timeout_ms: int,
) -> tuple[Any, int]:
    """Run one write on ``key``'s primary, then ``WAIT replicas timeout_ms`` on the same connection
    (WAIT counts the replicas that hold that connection's writes). Returns the write's reply and the
    number of replicas that acknowledged it (0 when ``replicas`` is 0: no WAIT is sent)."""
    if replicas <= 0:
        return await client.execute_command(*command), 0
    async with client.pipeline(transaction=False) as pipe:  # one connection for both commands
        pipe.execute_command(*command)
        if isinstance(client, RedisCluster):
            # WAIT has no key: send it to the primary serving ``key``'s slot, which the cluster
            # pipeline reaches over the same connection as the write
            await client.initialize()
            pipe.execute_command("WAIT", replicas, timeout_ms, target_nodes=client.get_node_from_key(key))
        else:
            pipe.execute_command("WAIT", replicas, timeout_ms)
        reply, acked = await pipe.execute()
    return reply, int(acked)
