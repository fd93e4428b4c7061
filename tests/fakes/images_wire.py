"""Image generation: OpenAI `POST /v1/images/generations` (LiteLLM `openai/gpt-image-1`, api_base=
<url>/v1) and Google's Imagen `POST <base>/models/<model>:predict` (LiteLLM `gemini/imagen-...`,
api_base=<url>/v1beta).

Each answers `n` (Imagen: `parameters.sampleCount`) small PNGs whose colour depends on the prompt,
base64-encoded. OpenAI's GPT image models also report token usage (prompt words in; per image
IMAGE_OUTPUT_TOKENS[quality] out, as OpenAI bills them); Imagen reports none (billed per image).
A scripted `Reply.text` becomes OpenAI's `revised_prompt`; `Reply.output_tokens` the image tokens.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator

from . import gemini_wire, openai_wire
from .parts import png
from .script import Fault, Reply, Turn, Usage, count_input_tokens
from .wire import ErrorResponse, Incoming

IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}  # 1024x1024, gpt-image-1
PREDICT = re.compile(r"/models/(?P<model>[^/:]+):predict$")


def _images(incoming: Incoming) -> list[str]:
    prompt = incoming.messages[-1][1] if incoming.messages else ""
    return [base64.b64encode(png(f"{prompt}#{index}")).decode() for index in range(incoming.options["n"])]


def _plan(reply: Reply, incoming: Incoming, per_image: int) -> Turn:
    output = reply.output_tokens if reply.output_tokens is not None else per_image * incoming.options["n"]
    input_tokens = count_input_tokens(incoming.messages) if reply.input_tokens is None else reply.input_tokens
    text = (reply.text or "",) if reply.text else ()
    return Turn(text, Usage(input_tokens, output), "stop", reply.ttft, 0.0)


def _no_stream(incoming: Incoming, turn: Turn) -> Iterator[tuple[bytes, bool]]:
    raise ValueError("image generation does not stream")


class OpenAIImages:
    """`POST /v1/images/generations`: body {model, prompt, n, size, quality, response_format}."""

    name = "openai"
    request_id_header = openai_wire.request_id_header
    stream_events = staticmethod(_no_stream)

    @staticmethod
    def route(path: str) -> str | None:
        return "" if path.rstrip("/").endswith("/images/generations") else None

    @staticmethod
    def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
        options = {"n": int(body.get("n") or 1), "size": body.get("size") or "1024x1024",
                   "quality": body.get("quality") or "auto"}
        return Incoming(model=str(body.get("model", "")), stream=False,
                        messages=[("user", str(body.get("prompt", "")))], options=options)

    @staticmethod
    def plan(reply: Reply, incoming: Incoming) -> Turn:
        tokens = IMAGE_OUTPUT_TOKENS.get(incoming.options["quality"], IMAGE_OUTPUT_TOKENS["medium"])
        return _plan(reply, incoming, tokens if incoming.model.startswith("gpt-image") else 0)

    @staticmethod
    def reply_body(incoming: Incoming, turn: Turn) -> dict:
        data = [{"b64_json": image, **({"revised_prompt": turn.text} if turn.text else {})}
                for image in _images(incoming)]
        body: dict = {"created": int(time.time()), "data": data}
        if incoming.model.startswith("gpt-image"):
            usage = turn.usage
            body.update(background="opaque", output_format="png", quality=incoming.options["quality"],
                        size=incoming.options["size"], usage={
                            "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                            "total_tokens": usage.total_tokens,
                            "input_tokens_details": {"text_tokens": usage.input_tokens, "image_tokens": 0}})
        return body

    @staticmethod
    def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
        return openai_wire.error(fault, incoming)


class ImagenPredict:
    """`POST <base>/models/<model>:predict`: body {instances: [{prompt}], parameters: {sampleCount}}."""

    name = "gemini"
    request_id_header = gemini_wire.request_id_header
    stream_events = staticmethod(_no_stream)

    @staticmethod
    def route(path: str) -> str | None:
        match = PREDICT.search(path)
        return match["model"] if match else None

    @staticmethod
    def parse(path: str, query: dict[str, str], body: dict) -> Incoming:
        match = PREDICT.search(path)
        if match is None:
            raise ValueError(f"not an Imagen path: {path}")
        instances = body.get("instances") or [{}]
        parameters = body.get("parameters") or {}
        options = {"n": int(parameters.get("sampleCount") or 1),
                   "size": parameters.get("aspectRatio") or "1:1", "quality": "standard"}
        return Incoming(model=match["model"], stream=False,
                        messages=[("user", str(instances[0].get("prompt", "")))], options=options)

    @staticmethod
    def plan(reply: Reply, incoming: Incoming) -> Turn:
        return _plan(reply, incoming, 0)

    @staticmethod
    def reply_body(incoming: Incoming, turn: Turn) -> dict:
        return {"predictions": [{"bytesBase64Encoded": image, "mimeType": "image/png"}
                                for image in _images(incoming)]}

    @staticmethod
    def error(fault: Fault, incoming: Incoming) -> ErrorResponse:
        return gemini_wire.error(fault, incoming)
