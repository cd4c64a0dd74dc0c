"""Runbooks: Markdown files with optional front matter, rendered for Slack, with runnable diagnostics."""
