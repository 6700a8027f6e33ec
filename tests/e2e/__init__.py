"""End-to-end tests against a local control plane (see tests/e2e/controlplane.py)."""
