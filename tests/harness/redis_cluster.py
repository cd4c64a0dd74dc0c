"""A real Redis Cluster and a real Sentinel setup for tests, from Debian's ``redis-server`` and
``redis-sentinel`` binaries, on free loopback ports, in a temporary directory.

* :class:`RedisClusterProcs`: six ``redis-server`` processes in cluster mode joined with
  ``redis-cli --cluster create … --cluster-replicas 1`` (three primaries, one replica each), node
  timeout 1 s so a replica takes over a dead primary within a few seconds. ``url`` is the bot's
  ``redis+cluster://…`` URL; :meth:`kill_primary_of` SIGKILLs the primary that serves a key.
* :class:`RedisSentinelProcs`: a primary, a replica and three sentinels (quorum 2, down after 1 s);
  ``url`` is ``redis+sentinel://…/mymaster``; :meth:`kill_primary` SIGKILLs the current primary.

Both take an optional password (``requirepass`` + ``masterauth`` on every data node, ``auth-pass``
in the sentinels) and stop every process and remove their directory in :meth:`stop`.

pytest fixtures (session-scoped): ``redis_cluster`` and ``redis_sentinel``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.harness.prometheus import HarnessError

REDIS_SERVER = os.environ.get("REDIS_SERVER_BINARY", shutil.which("redis-server") or "/usr/bin/redis-server")
REDIS_SENTINEL = os.environ.get(
    "REDIS_SENTINEL_BINARY", shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
)
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
START_TIMEOUT = 60.0
SERVICE = "mymaster"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, with_bus: bool = False) -> list[int]:
    """``count`` free loopback ports (and, for cluster nodes, their bus port ``port + 10000``)."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in found or (with_bus and (port + 10000 > 65535 or not _port_free(port + 10000))):
            continue
        found.append(port)
    return found


def wait_until(what: str, check: Callable[[], bool], deadline: float, logs: Callable[[], str]) -> None:
    """Poll ``check`` until it holds; past the deadline raise with the processes' log tails."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise HarnessError(f"{what} did not happen within {START_TIMEOUT}s (last error: {last})\n{logs()}")


def replication(node: redis.Redis) -> dict[str, Any]:
    """INFO replication as a dict (role, master_link_status, ...)."""
    info: dict[str, Any] = node.info("replication")  # type: ignore[assignment]
    return info


def cluster_state(node: redis.Redis) -> str:
    """``cluster_state`` from CLUSTER INFO (ok or fail)."""
    info = str(node.execute_command("CLUSTER", "INFO"))
    for line in info.splitlines():
        name, _, value = line.partition(":")
        if name == "cluster_state":
            return value.strip()
    return ""


@dataclass(frozen=True)
class TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 it signed (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TLSFiles:
    """Generate a CA and a server certificate (SAN IP:127.0.0.1) with the ``openssl`` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise HarnessError("openssl is not installed: cannot make a test CA")
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    steps = [
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=chatops test CA",
         "-keyout", str(ca_key), "-out", str(ca)],
        [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
         "-out", str(csr)],
        [openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "1", "-extfile", str(ext), "-out", str(cert)],
    ]  # fmt: skip
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HarnessError(f"{' '.join(argv[:3])} failed:\n{done.stderr}")
    return TLSFiles(ca=ca, cert=cert, key=key)


def redis_has_tls() -> bool:
    """Whether this ``redis-server`` was built with TLS (Debian's is): a TLS build asked for a TLS
    port without a certificate says it failed to configure TLS; one without TLS refuses the directive."""
    (port,) = free_ports(1)
    done = subprocess.run(
        [REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--save", ""],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "Failed to configure TLS" in done.stdout + done.stderr


class _Procs:
    """Processes started in one temporary directory, each logging to ``<name>.log``."""

    def __init__(self, password: str | None, label: str, tls: bool = False) -> None:
        self.password = password
        self.workdir = Path(tempfile.mkdtemp(prefix=f"chatops-{label}-"))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.tls = make_tls_files(self.workdir) if tls else None

    def _spawn(self, port: int, argv: list[str]) -> None:
        log = (self.workdir / f"{port}.log").open("wb")
        self.procs[port] = subprocess.Popen(argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def _auth_args(self) -> list[str]:
        return ["--requirepass", self.password, "--masterauth", self.password] if self.password else []

    def _listen_args(self, port: int) -> list[str]:
        """Plain ``--port``, or with TLS the port as ``--tls-port`` (no plain port at all)."""
        if self.tls is None:
            return ["--port", str(port)]
        return [
            "--port", "0", "--tls-port", str(port),
            "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
            "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no",
            "--tls-replication", "yes", "--tls-cluster", "yes",
        ]  # fmt: skip

    def _cli_tls(self) -> list[str]:
        return [] if self.tls is None else ["--tls", "--cacert", str(self.tls.ca)]

    def client(self, port: int) -> redis.Redis:
        tls: dict[str, Any] = {} if self.tls is None else {"ssl": True, "ssl_ca_certs": str(self.tls.ca)}
        return redis.Redis(
            host="127.0.0.1",
            port=port,
            password=self.password,
            decode_responses=True,
            socket_timeout=2,
            **tls,
        )

    def logs(self) -> str:
        tails = []
        for path in sorted(self.workdir.glob("*.log")):
            tails.append(
                f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
            )
        return "\n".join(tails)

    def kill(self, port: int) -> None:
        """SIGKILL one process (no shutdown, no final save: a crash)."""
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self, port: int) -> bool:
        return self.procs[port].poll() is None

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class RedisClusterProcs(_Procs):
    def __init__(
        self, password: str | None = None, *, primaries: int = 3, replicas: int = 1, tls: bool = False
    ) -> None:
        super().__init__(password, "cluster", tls)
        self.replicas = replicas
        self.ports = free_ports(primaries * (1 + replicas), with_bus=True)

    @property
    def url(self) -> str:
        """The bot's URL: two of the nodes are enough for the client to find the rest."""
        scheme = "rediss+cluster" if self.tls else "redis+cluster"
        return f"{scheme}://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def start(self) -> RedisClusterProcs:
        for port in self.ports:
            self._spawn(
                port,
                [
                    REDIS_SERVER,
                    *self._listen_args(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--cluster-node-timeout", "1000",
                    "--cluster-replica-validity-factor", "0",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.workdir),
                    *self._auth_args(),
                ],
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        for port in self.ports:
            wait_until(f"redis-server :{port}", self._pinger(port), deadline, self.logs)
        create = [REDIS_CLI, *self._cli_tls(), "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports)]
        create += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        env = {**os.environ, "REDISCLI_AUTH": self.password} if self.password else None
        done = subprocess.run(create, capture_output=True, text=True, timeout=START_TIMEOUT, env=env)
        if done.returncode != 0:
            raise HarnessError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
        wait_until("cluster state ok on every node", self._healthy, deadline, self.logs)
        return self

    def _pinger(self, port: int) -> Callable[[], bool]:
        node = self.client(port)
        return lambda: bool(node.ping())

    def _healthy(self) -> bool:
        """Every node sees state ok and every replica has its primary's link up."""
        for port in self.ports:
            if not self.alive(port):
                continue
            node = self.client(port)
            if cluster_state(node) != "ok":
                return False
            info = replication(node)
            if info.get("role") == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def primaries(self) -> list[int]:
        return [p for p in self.ports if self.alive(p) and replication(self.client(p))["role"] == "master"]

    def primary_of(self, key: str) -> int:
        """The port of the live primary that serves ``key``'s slot."""
        for port in self.ports:
            if not self.alive(port):
                continue
            node = self.client(port)
            slot = int(node.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, primary, *_ in node.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return int(primary[1])
        raise HarnessError(f"no live node knows the slot of {key}")

    def kill_primary_of(self, key: str) -> int:
        port = self.primary_of(key)
        self.kill(port)
        return port

    def wait_served(self, key: str, dead: int) -> int:
        """Wait until a live primary (not ``dead``) serves ``key``'s slot and the cluster is ok."""
        deadline = time.monotonic() + START_TIMEOUT

        def served() -> bool:
            return self.primary_of(key) != dead and all(
                cluster_state(self.client(p)) == "ok" for p in self.ports if self.alive(p)
            )

        wait_until(f"a replica takes over {key}'s slot", served, deadline, self.logs)
        return self.primary_of(key)


class RedisTLSServer(_Procs):
    """One ``redis-server`` that listens only with TLS (a certificate from a throwaway CA)."""

    def __init__(self, password: str | None = None) -> None:
        super().__init__(password, "tls", tls=True)
        (self.port,) = free_ports(1)

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def start(self) -> RedisTLSServer:
        argv = [REDIS_SERVER, *self._listen_args(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._spawn(self.port, [*argv, "--appendonly", "no", "--dir", str(self.workdir), *self._auth_args()])
        wait_until(
            f"redis-server (TLS) :{self.port}",
            self._pinger(self.port),
            time.monotonic() + START_TIMEOUT,
            self.logs,
        )
        return self

    def _pinger(self, port: int) -> Callable[[], bool]:
        node = self.client(port)
        return lambda: bool(node.ping())


class RedisSentinelProcs(_Procs):
    def __init__(self, password: str | None = None) -> None:
        super().__init__(password, "sentinel")
        self.data_ports = free_ports(2)
        self.sentinel_ports = free_ports(3)

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports) + f"/{SERVICE}"

    def start(self) -> RedisSentinelProcs:
        primary, replica = self.data_ports
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self._spawn(primary, [REDIS_SERVER, "--port", str(primary), *common, *self._auth_args()])
        self._spawn(
            replica,
            [
                REDIS_SERVER, "--port", str(replica), *common, *self._auth_args(),
                "--replicaof", "127.0.0.1", str(primary),
            ],
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        wait_until(
            "the replica syncs",
            lambda: replication(self.client(replica)).get("master_link_status") == "up",
            deadline,
            self.logs,
        )
        for port in self.sentinel_ports:
            conf = self.workdir / f"sentinel-{port}.conf"
            lines = [
                f"port {port}",
                "bind 127.0.0.1",
                f"dir {self.workdir}",
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 2",
                f"sentinel down-after-milliseconds {SERVICE} 1000",
                f"sentinel failover-timeout {SERVICE} 5000",
                f"sentinel parallel-syncs {SERVICE} 1",
            ]
            if self.password:
                lines.append(f"sentinel auth-pass {SERVICE} {self.password}")
            conf.write_text("\n".join(lines) + "\n")
            self._spawn(port, [REDIS_SENTINEL, str(conf)])
        wait_until("the sentinels see the replica and each other", self._watching, deadline, self.logs)
        return self

    def sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=2)

    def _watching(self) -> bool:
        for port in self.sentinel_ports:
            state: dict[str, Any] = self.sentinel(port).sentinel_master(SERVICE)
            if int(state.get("num-slaves", 0)) < 1 or int(state.get("num-other-sentinels", 0)) < 2:
                return False
        return True

    def primary(self) -> int:
        """The port the sentinels name as the primary now."""
        for port in self.sentinel_ports:
            if self.alive(port):
                _, primary = self.sentinel(port).sentinel_get_master_addr_by_name(SERVICE)
                return int(primary)
        raise HarnessError("no sentinel is running")

    def kill_primary(self) -> int:
        port = self.primary()
        self.kill(port)
        return port

    def wait_promoted(self, dead: int) -> int:
        """Wait until the sentinels promoted the replica and it answers as a primary."""
        deadline = time.monotonic() + START_TIMEOUT

        def promoted() -> bool:
            port = self.primary()
            return port != dead and replication(self.client(port))["role"] == "master"

        wait_until("the sentinels promote the replica", promoted, deadline, self.logs)
        return self.primary()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterProcs]:
    procs = RedisClusterProcs()
    try:
        yield procs.start()
    finally:
        procs.stop()


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinelProcs]:
    procs = RedisSentinelProcs()
    try:
        yield procs.start()
    finally:
        procs.stop()
