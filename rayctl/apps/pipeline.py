"""`pipeline`: preprocess, then sentiment and summary in parallel (serve app: `serve_apps/pipeline.py`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from rayctl.apps.base import SAMPLE_TEXT, BundledApp, Endpoint, SampleRequest, app_type, drop_none
from rayctl.apps.contract import Arg, Contract, device_arg

CONTRACT = Contract("pipeline", (
    device_arg("gpu"),
    Arg("sentiment_model", (str,), None, "GPU: Hugging Face sentiment model id (default: distilbert SST-2)."),
    Arg("summary_model", (str,), None, "GPU: Hugging Face summarization model id (default: distilbart-cnn)."),
    Arg("tokenizer", (str,), None, "GPU: Hugging Face tokenizer id for preprocessing (default: the sentiment model)."),
    Arg("max_input_tokens", (int,), 512, "Inputs are truncated to this many tokens.", minimum=1),
    Arg("min_words_for_summary", (int,), 30, "Shorter texts are returned unsummarised.", minimum=0),
    Arg("summary_sentences", (int,), 2, "Sentences in the extractive summary (CPU fallback).", minimum=1),
))


@app_type(
    order=40, import_path="serve_apps.pipeline:app_builder",
    deployments=("Preprocessor", "SentimentAnalyzer", "Summarizer", "PipelineIngress"), contract=CONTRACT,
    endpoint=Endpoint("POST", "/analyze"), uses_accelerator=True, ab_variant=True,
)
class PipelineApp(BundledApp):
    """Preprocess, then sentiment and summary in parallel (`POST <route>/analyze`)."""

    type: Literal["pipeline"] = Field(description="Application type.")
    sentiment_model: str | None = Field(None, description="GPU: Hugging Face sentiment model id.")
    summary_model: str | None = Field(None, description="GPU: Hugging Face summarization model id.")
    tokenizer: str | None = Field(None, description="GPU: Hugging Face tokenizer id for preprocessing.")
    max_input_tokens: int = Field(
        CONTRACT["max_input_tokens"].default, ge=CONTRACT["max_input_tokens"].minimum,
        description="Inputs are truncated to this many tokens.",
    )
    min_words_for_summary: int = Field(
        CONTRACT["min_words_for_summary"].default, ge=CONTRACT["min_words_for_summary"].minimum,
        description="Shorter texts are returned unsummarised.",
    )
    summary_sentences: int = Field(
        CONTRACT["summary_sentences"].default, ge=CONTRACT["summary_sentences"].minimum,
        description="Sentences in the extractive summary (CPU fallback).",
    )

    def serve_args(self, device: str) -> dict[str, Any]:
        return drop_none({
            "device": device,
            "sentiment_model": self.sentiment_model,
            "summary_model": self.summary_model,
            "tokenizer": self.tokenizer,
            "max_input_tokens": self.max_input_tokens,
            "min_words_for_summary": self.min_words_for_summary,
            "summary_sentences": self.summary_sentences,
        })

    @classmethod
    def sample_request(cls, args: dict[str, Any]) -> SampleRequest:
        return SampleRequest({"text": SAMPLE_TEXT})


APP_TYPE = PipelineApp
