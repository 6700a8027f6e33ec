"""`rayctl run` reports Ray's own failures (a Serve system actor killed under load) as a failed run (exit 9) with
the cause chained, never as an internal error (exit 70); other exceptions stay bugs."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from rayctl import localrun
from rayctl.errors import ExitCode
from tests.conftest import IMPORTS_RAY, skip_or_fail

pytestmark = IMPORTS_RAY

CONFIG = {"applications": [{"name": "hello", "import_path": "serve_apps.hello:app_builder"}]}


@pytest.fixture
def failing_start(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    if importlib.util.find_spec("ray") is None:
        skip_or_fail("ray is not installed: its exception types are what rayctl run classifies")
    raised: list[BaseException] = []

    def start(self: Any) -> None:
        raise raised[0]

    monkeypatch.setattr(localrun, "require_ray", lambda: None)
    monkeypatch.setattr(localrun.LocalServe, "start", start)
    monkeypatch.setattr(localrun.LocalServe, "shutdown", lambda self, timeout_s=60.0: None)
    return raised


def test_a_dead_serve_actor_is_a_failed_run(failing_start: list[BaseException]) -> None:
    from ray.exceptions import RayActorError

    failing_start.append(RayActorError())
    with pytest.raises(localrun.LocalRayError) as info:
        localrun.run(CONFIG, block=False, err=lambda _m: None, out=lambda _m: None)
    assert info.value.exit_code == ExitCode.RUN_FAILED
    assert "the local Ray failed while serving: RayActorError" in str(info.value)
    assert isinstance(info.value.__cause__, RayActorError)


def test_any_other_exception_is_still_a_bug(failing_start: list[BaseException]) -> None:
    failing_start.append(ZeroDivisionError("boom"))
    with pytest.raises(ZeroDivisionError):
        localrun.run(CONFIG, block=False, err=lambda _m: None, out=lambda _m: None)
