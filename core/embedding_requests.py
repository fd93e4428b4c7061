"""Embedding requests: which configured models make embeddings, and what a request may ask.

A model makes embeddings when its ``model_info.mode`` (or LiteLLM's cost map) says
``embedding``: ``openai/text-embedding-3-small``, ``gemini/text-embedding-004``, ... They are
configured in ``model_list`` like any other model, priced per input token by LiteLLM and
recorded with ``kind="embedding"``. ``check_embedding_request`` refuses, with one sentence,
no input, more than ``MAX_INPUTS`` inputs, an empty or over-long text, or a model that does not
make embeddings. No litellm import here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from core.catalog import cost_map_entry
from core.errors import BadRequestError

__all__ = ["EmbeddingRequest", "check_embedding_request", "embedding_models", "MAX_INPUTS"]

MAX_INPUTS = 2048  # OpenAI's own limit per request
MAX_INPUT_CHARS = 32_000


@dataclass(frozen=True)
class EmbeddingRequest:
    """One checked embedding call: the configured model, its texts, and how to answer."""

    kind: ClassVar[str] = "embedding"
    model: str
    inputs: tuple[str, ...]
    call_id: str
    dimensions: int | None = None
    key_id: str | None = None  # the API key the call came through (recorded with it; core/api)

    @property
    def messages(self) -> list[dict[str, str]]:
        """The texts as the call log records them."""
        return [{"role": "user", "content": text} for text in self.inputs]


def embedding_models(settings) -> list[str]:
    """The configured models that make embeddings, in configuration order."""
    names: list[str] = []
    for config in settings.models:
        mode = config.model_info.get("mode") or (cost_map_entry(config.provider_model) or {}).get("mode")
        if mode == "embedding" and config.name not in names:
            names.append(config.name)
    return names


def check_embedding_request(settings, model: str | None, inputs: object, dimensions: object,
                            call_id: str) -> EmbeddingRequest:
    """The request, or ``BadRequestError`` naming what is wrong; ``model=None`` is the first
    configured embedding model; one text may be given alone."""
    choices = embedding_models(settings)
    if model is None:
        if not choices:
            raise BadRequestError("No embedding model is configured; add one (e.g. "
                                  "openai/text-embedding-3-small) to model_list.")
        model = choices[0]
    if model not in choices:
        raise BadRequestError(f"{model} does not make embeddings; pick one of: "
                              f"{', '.join(choices) or 'none configured'}.")
    texts = (inputs,) if isinstance(inputs, str) else inputs
    if not isinstance(texts, (list, tuple)) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequestError("input is a text or a list of texts.")
    if len(texts) > MAX_INPUTS:
        raise BadRequestError(f"Send at most {MAX_INPUTS} inputs at once, not {len(texts)}.")
    if any(not t.strip() or len(t) > MAX_INPUT_CHARS for t in texts):
        raise BadRequestError(f"Every input is a non-empty text of at most {MAX_INPUT_CHARS:,} characters.")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)
                                   or dimensions < 1):
        raise BadRequestError(f"dimensions is a positive whole number, not {dimensions!r}.")
    return EmbeddingRequest(model, tuple(texts), call_id, dimensions)
