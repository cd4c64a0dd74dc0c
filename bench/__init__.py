"""Benchmarks of the bot against the sandbox and a real Redis (`make bench`, `python -m bench`)."""
