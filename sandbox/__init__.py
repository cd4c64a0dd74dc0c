"""A local, Slack-compatible workspace (Web API, interactivity, a browser page) for the bot and tests."""

from sandbox.config import SandboxConfig
from sandbox.delivery import signature
from sandbox.server import Sandbox, run_sandbox

__all__ = ["Sandbox", "SandboxConfig", "run_sandbox", "signature"]
