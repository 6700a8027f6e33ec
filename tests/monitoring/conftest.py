"""Fixtures of the monitoring tests."""

from __future__ import annotations

import pytest

from tests.conftest import skip_or_fail
from tests.monitoring.tools import PromTools, pinned_tools


@pytest.fixture(scope="session")
def prom_tools() -> PromTools:
    tools = pinned_tools()
    missing = tools.missing()
    if missing:
        skip_or_fail(f"Prometheus tools missing: {', '.join(missing)} (run hack/install-prometheus.sh)")
    return tools
