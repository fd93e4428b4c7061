"""The OpenAI Responses API: ``POST /v1/responses`` and ``GET /v1/responses/{id}``, for the
OpenAI Agents SDK, the Vercel AI SDK's ``openai(model)`` and every client on the Responses API.

A create body (``input`` as text or items, ``function_call`` and ``function_call_output``
included; ``instructions``; function ``tools``; ``text.format`` for structured output;
``max_output_tokens``) is read by LiteLLM's responses bridge (core/llm/protocols.py) into a
chat request and stated as a ``Call``, so keys, budgets, fallbacks and recording apply as on
every route, on any configured model; the answer is turned back into a ``response`` object
by the same bridge. A model whose deployments are all OpenAI's is answered natively instead
(core/llm/responses_native.py): the body goes, as the client sent it, to the provider's own
``/v1/responses`` through the Router (retries, cooldowns, the plan's fallbacks), so reasoning,
built-in tools and ``include`` reach it; the chat translation then only plans the call (key,
budget, estimate, what is recorded). Its answer is the provider's ``response`` object, and a
stream the provider's own events, with Parley's id, model name and ``parley`` object; its
cost is the Responses usage's (cached and reasoning tokens included).
``stream: true`` otherwise answers with the Responses events: ``response.created``,
``response.in_progress``, per output item ``response.output_item.added`` /
``response.content_part.added`` / ``response.output_text.delta`` ... ``.done`` (a function
call: ``response.function_call_arguments.delta`` / ``.done``), then ``response.completed``
carrying the whole response; a failure after the stream began is an ``error`` event.

``GET /v1/responses/{id}`` reads back a response Parley recorded for the same user: its text
output, model and usage. It follows ``parley.privacy``: when the answer's text was not kept
(``none`` or ``hash``) it is a 404 that says so.

``previous_response_id`` continues a response Parley recorded for the same user: its input
(without its instructions, which do not carry over, as on OpenAI) and its answer come before
the new ``input``. It is a 400 that says why when that response is not there, is another
user's, or was kept without its text (``parley.privacy``), its function calls or its images
and files (which Parley does not keep: send the conversation's items in ``input`` instead).
With several workers, a response another worker answered is found once that worker shipped
its record (the recorder ships every fraction of a second); this worker ships its own first.
"""
from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ConfigDict
from starlette.concurrency import run_in_threadpool

from core.api.caller import Caller
from core.api.errors import ApiError
from core.api.openai_routes import completion_body, result_headers
from core.api.schemas import ChatCompletionRequest, _Body, messages_to_call
from core.api.sse import SSEResponse, prepend, primed, sse_error
from core.keys import ApiKey
from core.llm.protocols import chat_to_responses, responses_to_chat
from core.llm.responses_native import check_body
from core.results import GenerationResult

__all__ = ["router", "response_body", "native_body"]


class ResponsesRequest(_Body):
    """The Responses API's create body; the bridge reads the rest of it."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    input: str | list[dict[str, Any]]
    stream: bool = False
    previous_response_id: str | None = None


def router(caller: Caller, route_class: type = APIRoute) -> APIRouter:
    from core.api.anthropic_routes import model_for
    from core.api.auth import authenticated

    routes = APIRouter(tags=["OpenAI-compatible"], route_class=route_class)
    key_of = authenticated(caller)

    @routes.post("/v1/responses")
    async def create(body: ResponsesRequest, request: Request, key: ApiKey = Depends(key_of),
                     x_parley_service: str | None = Header(default=None)):
        """A response (or its stream of events) from a Parley model."""
        raw = body.model_dump(exclude_none=True)
        check_body(raw)  # before the bridge reads it: what it would drop is refused by name
        model = model_for(caller, body.model) if body.model else None
        chat = responses_to_chat({**raw, "model": model or ""})
        fields = {"responses": {k: v for k, v in raw.items() if k != "model"}}
        if body.previous_response_id:
            earlier = await run_in_threadpool(_conversation, caller, key, body.previous_response_id)
            chat["messages"] = _after(earlier, chat["messages"])
            fields["responses"]["input"] = _items_after(earlier, body.input)
            fields["metadata"] = {"protocol": "responses",
                                  "previous_response_id": body.previous_response_id[:128]}
        plan = await caller.plan(key, request.headers, **{**_call_fields(
            caller, key, chat, model, x_parley_service), **fields})
        if body.stream:
            stream, first = await primed(caller.stream(key, plan))
            events = (_native_events if hasattr(first, "event") else _events)(
                caller, plan, raw, stream, first)
            return SSEResponse(events, headers={"x-parley-call-id": plan.call_id})
        result = await caller.generate(key, plan)
        answer = native_body(raw, result) if result.native is not None else response_body(raw, result)
        return JSONResponse(answer, headers=result_headers(result))

    @routes.get("/v1/responses/{response_id}")
    async def retrieve(response_id: str, key: ApiKey = Depends(key_of)):
        """A response Parley recorded for this key's user, when its text was kept."""
        return await run_in_threadpool(_stored, caller, key, response_id)

    return routes


def _call_fields(caller: Caller, key: ApiKey, chat: dict, model: str | None,
                 service_header: str | None) -> dict[str, Any]:
    try:
        request = ChatCompletionRequest(**{k: v for k, v in chat.items() if k in (
            "messages", "tools", "tool_choice", "response_format", "temperature")})
        call = messages_to_call(request.messages)
    except ValueError as exc:
        message = str(exc).splitlines()[0].rstrip(".")
        raise ApiError(400, f"input: {message}.", code="invalid_request") from None
    return dict(prompt=call["prompt"], system_prompt=call["system_prompt"],
                history=call["history"], attachments=call["attachments"],
                service_type=caller.service_type(key, service_header), model=model,
                temperature=request.temperature, max_tokens=chat.get("max_tokens"),
                metadata={"protocol": "responses"}, **request.structured())


def response_body(raw: dict, result: GenerationResult) -> dict[str, Any]:
    """The ``response`` object for an answer, with the ``parley`` object."""
    completion = completion_body(result)
    parley = completion.pop("parley")
    response = chat_to_responses(raw, completion)
    response.update(id=f"resp_{result.call_id}", model=result.served_by or result.model,
                    created_at=int(time.time()), parley=parley)
    response["usage"] = {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
                         "total_tokens": result.total_tokens,
                         "input_tokens_details": {"cached_tokens": result.cached_tokens or 0},
                         "output_tokens_details": {"reasoning_tokens": result.reasoning_tokens or 0}}
    return response


def native_body(raw: dict, result: GenerationResult) -> dict[str, Any]:
    """The provider's own ``response`` object of a natively answered call, as Parley's: its
    id (``resp_<call id>``), the model that answered, and the ``parley`` object."""
    response = {**result.native, "id": f"resp_{result.call_id}",
                "model": result.served_by or result.model,
                "parley": completion_body(result)["parley"]}
    if raw.get("previous_response_id"):
        response["previous_response_id"] = raw["previous_response_id"]
    return response


async def _native_events(caller: Caller, plan, raw: dict, stream: AsyncIterator,
                         first_item) -> AsyncIterator[bytes]:
    """The provider's own Responses events of a natively answered call, as they arrive; the
    response they carry is Parley's (its id and model), and the last one (``response.completed``
    or ``response.incomplete``) is sent once the call is priced, with the ``parley`` object."""
    terminal: dict[str, Any] = {"type": "response.completed"}
    try:
        async for item in prepend(first_item, stream):
            if isinstance(item, GenerationResult):
                yield _encoded({**terminal, "response": native_body(raw, item)})
                break
            event = item.event
            if event.get("type") in ("response.completed", "response.incomplete"):
                terminal = {k: v for k, v in event.items() if k != "response"}
                continue
            if isinstance(event.get("response"), dict):
                event = {**event, "response": {**event["response"], "id": f"resp_{plan.call_id}",
                                               "model": item.served_by or plan.model}}
            yield _encoded(event)
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        error = json.loads(sse_error(exc, caller.service.settings.secrets())[6:])["error"]
        yield _encoded({"type": "error", "code": error.get("code"), "message": error["message"],
                        "param": None})
    finally:
        await stream.aclose()


def _encoded(event: dict[str, Any]) -> bytes:
    return (f"event: {event.get('type')}\ndata: ".encode()
            + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")


async def _events(caller: Caller, plan, raw: dict, stream: AsyncIterator,
                  first_item) -> AsyncIterator[bytes]:
    """The Responses API's event stream of one call from its first item on."""
    emit = _Emitter()
    pending = {"id": f"resp_{plan.call_id}", "object": "response", "created_at": int(time.time()),
               "status": "in_progress", "model": plan.model, "output": []}
    yield emit("response.created", response=pending)
    yield emit("response.in_progress", response=pending)
    item_id, text, opened = f"msg_{plan.call_id}", [], False
    try:
        async for item in prepend(first_item, stream):
            if isinstance(item, GenerationResult):
                final = response_body(raw, item)
                if opened:
                    for event in _text_done(emit, item_id, "".join(text)):
                        yield event
                for event in _calls(emit, final, 1 if opened else 0):
                    yield event
                yield emit("response.completed", response=final)
                break
            if not opened:
                opened = True
                yield emit("response.output_item.added", output_index=0, item={
                    "id": item_id, "type": "message", "status": "in_progress",
                    "role": "assistant", "content": []})
                yield emit("response.content_part.added", item_id=item_id, output_index=0,
                           content_index=0, part={"type": "output_text", "text": "", "annotations": []})
            text.append(str(item))
            yield emit("response.output_text.delta", item_id=item_id, output_index=0,
                       content_index=0, delta=str(item), logprobs=[])
    except Exception as exc:  # noqa: BLE001 - the client gets the error as an event
        error = json.loads(sse_error(exc, caller.service.settings.secrets())[6:])["error"]
        yield emit("error", code=error.get("code"), message=error["message"], param=None)
    finally:
        await stream.aclose()


class _Emitter:
    """Numbered Responses events (``sequence_number`` from 0)."""

    def __init__(self):
        self.number = 0

    def __call__(self, kind: str, **data: Any) -> bytes:
        event = {"type": kind, "sequence_number": self.number, **data}
        self.number += 1
        return (f"event: {kind}\ndata: ".encode()
                + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")


def _text_done(emit: _Emitter, item_id: str, text: str) -> list[bytes]:
    part = {"type": "output_text", "text": text, "annotations": []}
    return [emit("response.output_text.done", item_id=item_id, output_index=0, content_index=0,
                 text=text, logprobs=[]),
            emit("response.content_part.done", item_id=item_id, output_index=0, content_index=0,
                 part=part),
            emit("response.output_item.done", output_index=0, item={
                "id": item_id, "type": "message", "status": "completed", "role": "assistant",
                "content": [part]})]


def _calls(emit: _Emitter, final: dict, start: int) -> list[bytes]:
    """The events of the response's function calls, output items from ``start``."""
    events = []
    calls = [item for item in final.get("output", []) if item.get("type") == "function_call"]
    for index, call in enumerate(calls, start=start):
        events += [
            emit("response.output_item.added", output_index=index,
                 item={**call, "arguments": "", "status": "in_progress"}),
            emit("response.function_call_arguments.delta", item_id=call["id"],
                 output_index=index, delta=call["arguments"]),
            emit("response.function_call_arguments.done", item_id=call["id"],
                 output_index=index, arguments=call["arguments"]),
            emit("response.output_item.done", output_index=index, item=call)]
    return events


def _recorded(caller: Caller, key: ApiKey, response_id: str) -> dict[str, Any] | None:
    """The answered call ``resp_<call id>`` of the key's user (not another's, even for an
    admin's key), or None. A miss ships the recorder's backlog and looks again: a client may
    ask for a response right after it was answered, before the record was shipped."""
    store = caller.service.store
    if store is None:
        return None
    call_id = response_id.removeprefix("resp_")
    for attempt in (1, 2):
        row = store.call(call_id, as_user=key.user_id)
        if row is not None or attempt == 2 or caller.service.recorder is None:
            break
        caller.service.recorder.flush(timeout=2.0)
    if row is None or row.get("status") != "success" or row.get("user_id") != key.user_id:
        return None
    return row


def _conversation(caller: Caller, key: ApiKey, response_id: str) -> list[dict[str, Any]]:
    """The chat messages of recorded response ``response_id``: its input's turns (not its
    system prompt) and its answer; a 400 saying why when it cannot be continued."""
    row = _recorded(caller, key, response_id)
    if row is None:
        raise ApiError(400, f"Previous response {response_id} was not found for this key's user.",
                       code="previous_response_not_found")
    privacy = caller.service.settings.privacy
    messages = row.get("messages")
    if privacy != "store" or not isinstance(messages, list):
        raise ApiError(400, f"Previous response {response_id} cannot be continued: Parley does "
                            f"not keep prompts' and answers' text (parley.privacy is "
                            f"{privacy!r}); send the conversation's items in input.",
                       code="previous_response_not_stored")
    if row.get("tool_calls"):
        raise ApiError(400, f"Previous response {response_id} ended in function calls, which "
                            "Parley does not keep; send the conversation's items (the calls and "
                            "their outputs) in input.", code="previous_response_not_stored")
    turns = [m for m in messages if isinstance(m, dict) and m.get("role") not in ("system", "developer")]
    if any(isinstance(m.get("content"), list) and any(
            isinstance(p, dict) and p.get("type") != "text" for p in m["content"]) for m in turns):
        raise ApiError(400, f"Previous response {response_id} had images or files, of which Parley "
                            "keeps only the type and size; send the conversation's items in "
                            "input.", code="previous_response_not_stored")
    return [*turns, {"role": "assistant", "content": row.get("response") or ""}]


def _after(earlier: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` (a new request's) with ``earlier`` turns after its system messages."""
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    return [*system, *earlier, *(m for m in messages if m not in system)]


def _items_after(earlier: list[dict[str, Any]], given: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A Responses ``input`` with ``earlier`` chat turns (text only: ``_conversation``) first."""
    def text(content: Any) -> str:
        if isinstance(content, list):
            return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
        return str(content or "")
    items = [{"role": m["role"], "content": text(m.get("content"))} for m in earlier]
    return [*items, *([{"role": "user", "content": given}] if isinstance(given, str) else given)]


def _stored(caller: Caller, key: ApiKey, response_id: str) -> dict[str, Any]:
    """The recorded response ``resp_<call id>`` of the key's user, or a 404 saying why."""
    call_id = response_id.removeprefix("resp_")
    row = _recorded(caller, key, response_id)
    if row is None:
        raise ApiError(404, f"No response {response_id} was recorded for this key's user.",
                       code="response_not_found")
    privacy = caller.service.settings.privacy
    if privacy != "store" or row.get("response") is None:
        raise ApiError(404, f"Response {response_id} was answered, but Parley does not keep "
                            f"answers' text (parley.privacy is {privacy!r}), so it cannot be "
                            "read back.", code="response_not_stored")
    text = row["response"]
    return {"id": response_id, "object": "response", "status": "completed",
            "model": row["model"], "output": [{
                "id": f"msg_{call_id}", "type": "message", "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "output_text": text,
            "usage": {"input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"],
                      "total_tokens": row["total_tokens"]},
            "parley": {"call_id": call_id, "cost": row["total_cost"]}}
