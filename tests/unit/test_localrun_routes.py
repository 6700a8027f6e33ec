"""`rayctl run` prints an app's URL only once the HTTP ingress routes to it (HAProxy and Serve's proxy learn routes
a moment after the app is RUNNING)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rayctl.localrun import app_endpoints, wait_routes


@pytest.fixture
def ingress() -> Iterator[tuple[int, list[int]]]:
    """A stand-in ingress answering 503 (no server yet) to the first 3 requests, then 405 (a POST-only route)."""
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(1)
            self.send_response(503 if len(seen) <= 3 else 405)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()


def test_waits_until_the_route_answers(ingress: tuple[int, list[int]]) -> None:
    port, seen = ingress
    config = {"applications": [{"name": "p", "route_prefix": "/", "import_path": "serve_apps.pipeline:app_builder"},
                               {"name": "internal", "route_prefix": None, "import_path": "x:y"}]}
    assert wait_routes(app_endpoints(config, "127.0.0.1", port), timeout_s=10) == []
    assert len(seen) == 4  # three "not yet" answers, then the route's own 405; the un-routed app is not polled


def test_reports_apps_that_never_answer() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"applications": [{"name": "p", "route_prefix": "/", "import_path": "serve_apps.pipeline:app_builder"}]}
    assert wait_routes(app_endpoints(config, "127.0.0.1", port), timeout_s=0.5) == ["p"]
