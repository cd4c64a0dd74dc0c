"""review.trackers in the policy, the tracker secrets in Settings, and `chatops check-config`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.policy import PolicyError, parse_policy
from bot.settings import Settings
from chatops.config_check import review

TRACKER_VARS = (
    "GITHUB_TOKEN",
    "GITHUB_API_URL",
    "JIRA_URL",
    "JIRA_EMAIL",
    "JIRA_API_TOKEN",
    "CHATOPS_SECRETS_DIR",
)

BOTH = """
review:
  trackers:
    github: {repo: acme/ops}
    jira: {project: OPS}
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in TRACKER_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_choose_the_tracker() -> None:
    both = parse_policy(BOTH).review.trackers
    assert both.configured() == ["github", "jira"]
    assert both.choose("jira") == "jira" and both.choose("GitHub") == "github"
    assert "no default" in both.choose(None)
    assert "not a tracker" in both.choose("linear")
    one = parse_policy("review: {trackers: {jira: {project: OPS}}}").review.trackers
    assert one.choose(None) == "jira" and "not configured" in one.choose("github")
    assert "No issue tracker" in parse_policy("{}").review.trackers.choose(None)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "review: {trackers: {default: jira, github: {repo: acme/ops}}}",
            "review.trackers.jira is not configured",
        ),
        ("review: {trackers: {github: {repo: not-a-repo}}}", "owner/name"),
        ("review: {trackers: {jira: {project: ops}}}", "project key"),
        ("review: {trackers: {jira: {project: OPS, api_version: 4}}}", "api_version"),
    ],
)
def test_bad_tracker_config_is_refused_with_its_reason(text: str, words: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert words in "\n".join(err.value.problems)


def test_check_config_names_missing_tracker_secrets(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(BOTH)
    warnings = review(str(path), Settings()).warnings
    joined = "\n".join(warnings)
    assert "GITHUB_TOKEN is not set" in joined and "review.trackers.github" in joined
    assert "JIRA_URL is not set" in joined and "JIRA_API_TOKEN is not set" in joined
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "github_token").write_text("ghp_fromfile\n")
    (secrets / "jira_api_token").write_text("jira-from-file")
    clean_env.setenv("CHATOPS_SECRETS_DIR", str(secrets))
    clean_env.setenv("JIRA_URL", "https://acme.atlassian.net")
    settings = Settings()
    assert review(str(path), settings).warnings == []
    assert "ghp_fromfile" in settings.secret_values() and "jira-from-file" in settings.secret_values()
