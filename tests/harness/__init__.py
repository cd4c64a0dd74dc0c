"""Test harnesses shared by the suite (real Prometheus, ...)."""
