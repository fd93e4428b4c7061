"""Image generation requests: which configured models make images, and what a request may ask.

A model makes images when its ``model_info.mode`` (or LiteLLM's cost map) says
``image_generation``: ``openai/gpt-image-1``, ``gemini/imagen-3.0-generate-001``, ... They are
configured in ``model_list`` like any other model. ``check_image_request`` refuses, with one
sentence, an empty prompt, a count outside 1-``MAX_IMAGES``, a size that is not ``WxH`` or
``auto``, an unknown quality, or a model that does not make images. No litellm import here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from core.catalog import cost_map_entry
from core.errors import BadRequestError

__all__ = ["ImageRequest", "check_image_request", "image_models", "MAX_IMAGES", "QUALITIES"]

MAX_IMAGES = 4
MAX_PROMPT_CHARS = 32_000
QUALITIES = ("auto", "low", "medium", "high", "standard", "hd")
_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


@dataclass(frozen=True)
class ImageRequest:
    """One checked image generation: the configured model, the prompt, how many, how big."""

    kind: ClassVar[str] = "image"
    model: str
    prompt: str
    call_id: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    key_id: str | None = None  # the API key the call came through (recorded with it; core/api)

    @property
    def messages(self) -> list[dict[str, str]]:
        """The prompt as the call log records it."""
        return [{"role": "user", "content": self.prompt}]


def image_models(settings) -> list[str]:
    """The configured models that make images, in configuration order."""
    names: list[str] = []
    for config in settings.models:
        mode = config.model_info.get("mode") or (cost_map_entry(config.provider_model) or {}).get("mode")
        if mode == "image_generation" and config.name not in names:
            names.append(config.name)
    return names


def check_image_request(settings, model: str | None, prompt: object, n: object, size: object,
                        quality: object, call_id: str) -> ImageRequest:
    """The request, or ``BadRequestError`` naming what is wrong; ``model=None`` is the first
    configured image model."""
    choices = image_models(settings)
    if model is None:
        if not choices:
            raise BadRequestError("No image model is configured; add one (e.g. openai/gpt-image-1) "
                                  "to model_list.")
        model = choices[0]
    if model not in choices:
        known = ", ".join(choices) or "none configured"
        raise BadRequestError(f"{model} does not make images; pick one of: {known}.")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequestError("The prompt is empty; describe the image to make.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequestError(f"The prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}.")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES:
        raise BadRequestError(f"Ask for 1 to {MAX_IMAGES} images, not {n!r}.")
    if size is not None and size != "auto" and not (isinstance(size, str) and _SIZE.match(size)):
        raise BadRequestError(f"Size is WIDTHxHEIGHT (like 1024x1024) or auto, not {size!r}.")
    if quality is not None and quality not in QUALITIES:
        raise BadRequestError(f"Quality is one of {', '.join(QUALITIES)}, not {quality!r}.")
    return ImageRequest(model, prompt, call_id, n, size, quality)
