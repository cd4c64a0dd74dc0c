"""One validation of the policy for ``chatops check-config`` and for every start-up: the policy's
problems with their locations, the secrets it names that this environment lacks, and its warnings.
Start-up with a problem prints the same report ``check-config`` prints and exits 2 (no traceback).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from bot.config.policy import Policy, PolicyError, load_policy
from bot.settings import Settings
from chatops.config_check import review


@dataclass
class ConfigReport:
    path: str
    problems: list[str] = field(default_factory=list)  # the bot cannot start like this
    warnings: list[str] = field(default_factory=list)  # it starts, but something will not work
    notes: list[str] = field(default_factory=list)  # for information (check-config), never a failure

    def lines(self, *, strict: bool = False) -> list[str]:
        out = [f"  note: {n}" for n in self.notes]
        out += [f"  warning: {w}" for w in self.warnings]
        failing = self.problems + (self.warnings if strict else [])
        if failing:
            out.append(f"{self.path}: {len(self.problems)} problem(s), {len(self.warnings)} warning(s)")
            out += [f"  {p}" for p in self.problems]
        else:
            out.append(f"{self.path}: OK" + (f" ({len(self.warnings)} warning(s))" if self.warnings else ""))
        return out


def required_secrets(policy: Policy, path: str) -> list[str]:
    """Secrets the policy names that the bot cannot start without (the Alertmanager webhook's auth),
    each reported with the key that names it."""
    problems: list[str] = []
    auth = policy.alerts.auth
    checks = (
        ("alerts.auth.bearer_token_env", auth.bearer_token_env, None),
        ("alerts.auth.bearer_token_file", None, auth.bearer_token_file),
        ("alerts.auth.basic_password_env", auth.basic_password_env, None),
        ("alerts.auth.basic_password_file", None, auth.basic_password_file),
    )
    for key, env, file in checks:
        if env and not Settings.named_secret(env):
            problems.append(
                f"{path}: {key} names the environment variable {env}, which is not set "
                "(set it, or remove the key to accept unauthenticated notifications)"
            )
        if file is not None and not file.expanduser().is_file():
            problems.append(f"{path}: {key}: no file {file}")
    return problems


def config_report(path: str, settings: Settings) -> ConfigReport:
    """Every problem and warning of the policy at ``path`` in this environment."""
    report = review(path, settings)
    problems = list(report.problems)
    if not problems:  # the policy parsed: check what it needs from the environment
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems = list(exc.problems)
        else:
            problems += required_secrets(policy, path)
    return ConfigReport(
        path=path, problems=problems, warnings=list(report.warnings), notes=list(report.notes)
    )


def load_checked_policy(path: str | None, settings: Settings) -> Policy:
    """The policy at ``path`` (the defaults when None) after the checks of ``check-config``; on a
    problem the report goes to stderr and the process exits 2."""
    if path is None:
        return load_policy(None)
    report = config_report(path, settings)
    if report.problems:
        print("chatops cannot start: the policy has problems", file=sys.stderr)
        print("\n".join(report.lines()), file=sys.stderr)
        raise SystemExit(2)
    for w in report.warnings:
        print(f"  warning: {w}", file=sys.stderr)
    return load_policy(path)
