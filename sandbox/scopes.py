"""The app's bot scopes, read from its manifest (``oauth_config.scopes.bot``) the way Slack grants
them at install; ``SandboxConfig.bot_scopes`` replaces them (a test of an app installed without one)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import yaml

log = logging.getLogger("sandbox.scopes")

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


@functools.lru_cache(maxsize=4)
def manifest_bot_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes the manifest requests (none when there is no readable manifest)."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("SANDBOX: no app manifest at %s (%s): the bot has no scopes", path, exc)
        return frozenset()
    scopes = ((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return frozenset(str(s) for s in scopes)


def bot_scopes(configured: list[str] | None) -> frozenset[str]:
    return frozenset(configured) if configured is not None else manifest_bot_scopes()
