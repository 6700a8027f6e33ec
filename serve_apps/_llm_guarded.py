"""Ray Serve LLM classes with serve_apps._openai_guard.OpenAIErrorGuard in front of their ASGI app (imported by
serve_apps.llm's app_builder and by the replicas; needs ray[llm]).

Both keep Ray's class names, so the deployments keep their names (`OpenAiIngress`, `LLMServer:<model_id>`) and
`deployments:` overrides in a serveConfigV2 still apply.

- `OpenAiIngress` (the default path: Serve's proxy -> OpenAiIngress -> LLMServer): passed to `build_openai_app` as
  `ingress_cls_config.ingress_cls`.
- `LLMServer` (direct streaming, `RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING=1`, as `serve.highThroughput` sets: the
  model server is the ingress and serves vLLM's own FastAPI app): set as each LLMConfig's `server_cls`.

Both use Serve's `__serve_build_asgi_app__` hook (called once per replica, after the constructor): it returns the
app Serve will call, here the guard around the app Ray built.
"""

from __future__ import annotations

from typing import Any

from ray.llm._internal.serve.core.ingress.ingress import OpenAiIngress as _RayOpenAiIngress
from ray.llm._internal.serve.core.server.llm_server import LLMServer as _RayLLMServer

from serve_apps._openai_guard import OpenAIErrorGuard, check_openai_request

_PART_HINT = (
    'a valid content part (e.g. {"type": "text", "text": "..."} or {"type": "image_url", "image_url": {"url": "..."}})'
)


def check_request(path: str, doc: dict[str, Any]) -> str | None:
    """The guard's structural checks, then, for chat completions, vLLM's own request model applied and its lazily
    validated parts (`content`, `tool_calls`: pydantic ValidatorIterators) materialised: Ray does the latter after
    validation and answers a failure with a 500 (ValueError in `_sanitize_chat_completion_request`)."""
    problem = check_openai_request(path, doc)
    if problem or not path.rstrip("/").endswith("/chat/completions"):
        return problem
    from pydantic import ValidationError
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    try:
        request = ChatCompletionRequest.model_validate(doc)
    except ValidationError:
        return None  # the app answers this with its own 400 naming the field
    except (TypeError, ValueError, AttributeError, KeyError):  # vLLM's before-validators on shapes they do not expect
        return "the request does not match the chat completion schema (check 'messages')"
    for i, message in enumerate(request.messages):
        for key in ("content", "tool_calls"):
            value = message.get(key) if isinstance(message, dict) else getattr(message, key, None)
            if value is None or isinstance(value, (str, list)):
                continue
            try:
                list(value)  # type: ignore[arg-type]
            except ValidationError as exc:
                loc = exc.errors()[0].get("loc", ()) if exc.errors() else ()
                at = f"[{loc[0]}]" if loc and isinstance(loc[0], int) else ""
                what = _PART_HINT if key == "content" else "a tool call object"
                return f"messages[{i}].{key}{at} is not {what}"
            except (TypeError, ValueError):
                return f"messages[{i}].{key} is not valid"
    return None


class OpenAiIngress(_RayOpenAiIngress):
    async def __serve_build_asgi_app__(self) -> Any:
        return OpenAIErrorGuard(self.app, check=check_request)  # type: ignore[attr-defined]  # Serve's wrapper


class LLMServer(_RayLLMServer):
    async def __serve_build_asgi_app__(self) -> Any:
        app = await super().__serve_build_asgi_app__()  # type: ignore[no-untyped-call]
        return OpenAIErrorGuard(app, check=check_request)
