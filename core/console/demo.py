"""Synthetic demo calls: ``fill_demo(store, n, settings)`` writes ``n`` realistic call records,
every one with ``is_demo = True``, so the console has something to show.

The data has the shape real usage has: a dozen users of very different appetite, each with a
favourite model and feature; traffic growing over the months and quieter at weekends;
token counts by feature; latency and time to first token by provider; a few percent of
failures, some of them followed by a fallback to another model. Costs use each model's
configured price (unknown price: cost unknown, as for a real call).

Records are generated in vectorised chunks (numpy, which pandas brings) and written with
``Store.record_calls``, which inserts a whole chunk and folds it into the rollups in one
transaction: about a million calls a minute on SQLite.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.catalog import Catalog, cost_map_entry
from core.errors import BadRequestError
from core.results import CallRecord
from core.store.base import CallLog

__all__ = ["DemoModel", "DemoSummary", "demo_models", "demo_records", "fill_demo", "MAX_CALLS"]

MAX_CALLS = 10_000_000
USERS = ("maya@example.com", "li.wei@example.com", "omar@example.com", "sofia@example.com",
         "jonas@example.com", "priya@example.com", "ada@example.com", "tom@example.com",
         "noor@example.com", "kenji@example.com", "eva@example.com", "sam@example.com")
SERVICES = ("xray", "smart_questions", "answer_builder", "playground")
# median input / output tokens per feature; unknown features get the last pair
_TOKENS = {"xray": (3200, 450), "smart_questions": (650, 220), "answer_builder": (1800, 700),
           "playground": (400, 350)}
# provider -> (median ms to first token, ms per output token)
_SPEED = {"anthropic": (750, 22.0), "gemini": (420, 7.0), "openai": (520, 11.0),
          "local": (180, 28.0)}
_ERRORS = ("RateLimitError", "ProviderTimeoutError", "ProviderDownError")
# the API clients demo calls come from (core/api/clients.py names); the playground's calls are
# made on Parley's own pages, so they name no client
_CLIENTS = ("claude-code", "openai-python", "ai-sdk", "langchain", "anthropic-python")
_FALLBACK_SHARE = 0.015


@dataclass(frozen=True)
class DemoModel:
    name: str
    provider: str
    input_cost_per_token: float | None
    output_cost_per_token: float | None


@dataclass(frozen=True)
class DemoSummary:
    calls: int
    first_day: dt.date
    last_day: dt.date
    seconds: float


def demo_models(catalog: Catalog) -> list[DemoModel]:
    """The configured models; with fewer than two configured, Claude, Gemini, GPT and a
    local model priced from LiteLLM's cost map."""
    models = [DemoModel(e.name, e.provider, e.input_cost_per_token, e.output_cost_per_token)
              for e in catalog]
    if len(models) >= 2:
        return models
    out = []
    for name, provider, model in (("claude", "anthropic", "claude-sonnet-4-5-20250929"),
                                  ("gemini", "gemini", "gemini/gemini-2.5-flash"),
                                  ("gpt", "openai", "gpt-4.1-mini"), ("local", "local", None)):
        entry = (cost_map_entry(model) if model else None) or {}
        free = 0.0 if provider == "local" else None
        out.append(DemoModel(name, provider, entry.get("input_cost_per_token", free),
                             entry.get("output_cost_per_token", free)))
    return out


def demo_records(n: int, models: list[DemoModel], services: tuple[str, ...] = SERVICES, *,
                 days: int = 120, end: dt.datetime | None = None, seed: int | None = None,
                 chunk: int = 50_000, users: tuple[str, ...] = USERS) -> Iterator[list[CallRecord]]:
    """``n`` demo records over the ``days`` days up to ``end`` (default now), in chunks, by
    ``users`` (the first the busiest)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CALLS:
        raise BadRequestError(f"The number of demo calls must be from 1 to {MAX_CALLS:,}, not {n!r}.")
    if not models:
        raise BadRequestError("Demo data needs at least one configured model.")
    end = end or dt.datetime.now(dt.timezone.utc)
    rng = np.random.default_rng(seed)
    plan = _Plan(rng, models, services or SERVICES, days, end, users or USERS)
    # calls are written in time order, as a real log is: each chunk takes the next days
    day_of_call = np.repeat(np.arange(days), rng.multinomial(n, plan.day_weight))
    run = secrets.token_hex(4)
    for start in range(0, n, chunk):
        yield plan.chunk(rng, day_of_call[start:start + chunk], f"demo-{run}-", start)


def fill_demo(store: CallLog, n: int, catalog: Catalog, services: tuple[str, ...] = (), *,
              days: int = 120, seed: int | None = None, end: dt.datetime | None = None,
              me: str | None = None) -> DemoSummary:
    """Write ``n`` demo calls to ``store``; returns what was written and how long it took.
    ``me`` (the user running it) becomes the third busiest of the demo users, so their own
    usage page has something to show too."""
    started = time.perf_counter()
    end = end or dt.datetime.now(dt.timezone.utc)
    written = 0
    users = USERS if not me or me in USERS else (*USERS[:2], me, *USERS[2:-1])
    for records in demo_records(n, demo_models(catalog), tuple(services) or SERVICES, days=days,
                                end=end, seed=seed, users=users):
        written += store.record_calls(records)
    first = (end - dt.timedelta(days=days - 1)).date()
    return DemoSummary(written, first, end.date(), time.perf_counter() - started)


class _Plan:
    """Who uses what, and how often: drawn once per run, then sampled chunk by chunk."""

    def __init__(self, rng: np.random.Generator, models: list[DemoModel], services: tuple[str, ...],
                 days: int, end: dt.datetime, users: tuple[str, ...] = USERS):
        if not 1 <= days <= 3650:
            raise BadRequestError(f"Demo data spans 1 to 3650 days, not {days}.")
        self.models, self.services, self.users = models, services, users
        self.user_weight = _normalised(1 / np.arange(1, len(users) + 1) ** 1.1)
        self.model_weight = _normalised(rng.uniform(0.5, 1.5, len(models)))
        self.service_weight = _normalised(rng.uniform(0.4, 1.6, len(services)))
        self.favourite_model = rng.integers(0, len(models), len(users))
        # a failed call falls back to the most used other model, as router fallbacks usually do
        order = np.argsort(-self.model_weight).tolist()
        self.fallback_to = {m.name: next(j for j in order if j != i) for i, m in enumerate(models)}
        self.favourite_service = rng.integers(0, len(services), len(users))
        first_day = (end - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        self.day_start = first_day.timestamp() + 86400 * np.arange(days)
        weekday = (first_day.weekday() + np.arange(days)) % 7
        growth = np.linspace(0.45, 1.0, days)
        self.day_weight = _normalised(growth * np.where(weekday >= 5, 0.35, 1.0))
        self.end = end.timestamp()
        speeds = [_SPEED.get(m.provider, (600, 15.0)) for m in models]
        self.ttft_median = np.array([s[0] for s in speeds], dtype=float)
        self.ms_per_token = np.array([s[1] for s in speeds], dtype=float)
        self.failure_rate = np.where(np.arange(len(models)) == 0, 0.05, 0.025)
        pairs = [_TOKENS.get(s, _TOKENS["playground"]) for s in services]
        self.tokens_in = np.array([p[0] for p in pairs], dtype=float)
        self.tokens_out = np.array([p[1] for p in pairs], dtype=float)

    def chunk(self, rng: np.random.Generator, days: np.ndarray, prefix: str, offset: int) -> list[CallRecord]:
        """Records for calls on the given day numbers (one per call), in time order."""
        size = len(days)
        user = rng.choice(len(self.users), size, p=self.user_weight)
        model = np.where(rng.random(size) < 0.65, self.favourite_model[user],
                         rng.choice(len(self.models), size, p=self.model_weight))
        service = np.where(rng.random(size) < 0.5, self.favourite_service[user],
                           rng.choice(len(self.services), size, p=self.service_weight))
        seconds = np.clip(rng.normal(14 * 3600, 3.2 * 3600, size), 0, 86399)
        stamp = np.sort(np.minimum(self.day_start[days] + seconds, self.end))
        failed = rng.random(size) < self.failure_rate[model]
        tokens_in = np.where(failed, 0, rng.lognormal(np.log(self.tokens_in[service]), 0.6)).astype(int)
        tokens_out = np.where(failed, 0, rng.lognormal(np.log(self.tokens_out[service]), 0.5)).astype(int)
        ttft = rng.lognormal(np.log(self.ttft_median[model]), 0.35)
        elapsed = ttft + tokens_out * self.ms_per_token[model] * rng.lognormal(0, 0.2, size)
        elapsed = np.where(failed, rng.lognormal(np.log(2500), 0.9, size), elapsed)
        fallback = np.zeros(size, dtype=bool)
        if size > 1 and len(self.models) > 1:
            fallback[1:] = rng.random(size - 1) < _FALLBACK_SHARE
            fallback[1:] &= ~fallback[:-1]  # a fallback follows an ordinary call
        columns = _Columns(user, model, service, stamp, failed, tokens_in, tokens_out, ttft,
                           elapsed, fallback, rng.integers(0, len(_ERRORS), size))
        return self._records(columns, prefix, offset)

    def _client(self, user: int, service: int) -> dict[str, str]:
        """A demo call's client: each user's features each come from one client."""
        if self.services[service] == "playground":
            return {}
        return {"client": _CLIENTS[(user + service) % len(_CLIENTS)]}

    def _records(self, c: "_Columns", prefix: str, offset: int) -> list[CallRecord]:
        utc = dt.timezone.utc
        records: list[CallRecord] = []
        for i, (u, m, s, at, bad, tin, tout, ttft, ms, fb, err) in enumerate(zip(
                c.user.tolist(), c.model.tolist(), c.service.tolist(), c.stamp.tolist(),
                c.failed.tolist(), c.tokens_in.tolist(), c.tokens_out.tolist(), c.ttft.tolist(),
                c.elapsed.tolist(), c.fallback.tolist(), c.error.tolist())):
            fallback_of = None
            if fb:  # the call before failed over to this one: same user, feature and moment
                before = records[-1]
                before.status, before.error_class = "failure", "ProviderTimeoutError"
                before.error = "The provider did not answer in time."
                before.input_tokens = before.output_tokens = before.total_tokens = 0
                before.total_cost, before.ttft_ms = 0.0, None
                u, s, bad = self.users.index(before.user_id), self.services.index(before.service_type), False
                m = self.fallback_to[before.model]
                at, fallback_of = before.created_at.timestamp() + before.response_time_ms / 1000, before.call_id
            model = self.models[m]
            cost = None
            if bad:
                cost = 0.0
            elif model.input_cost_per_token is not None and model.output_cost_per_token is not None:
                cost = tin * model.input_cost_per_token + tout * model.output_cost_per_token
            records.append(CallRecord(
                call_id=f"{prefix}{offset + i:09d}", user_id=self.users[u],
                service_type=self.services[s], model=model.name, provider=model.provider,
                provider_model="", status="failure" if bad else "success",
                created_at=dt.datetime.fromtimestamp(at, utc),
                error_class=_ERRORS[err] if bad else None,
                error="The provider failed the call (demo data)." if bad else None,
                input_tokens=tin, output_tokens=tout, total_tokens=tin + tout, total_cost=cost,
                response_time_ms=round(ms, 1), ttft_ms=None if bad else round(ttft, 1),
                fallback_of=fallback_of, is_demo=True, metadata=self._client(u, s)))
        return records


@dataclass
class _Columns:
    user: np.ndarray
    model: np.ndarray
    service: np.ndarray
    stamp: np.ndarray
    failed: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray
    ttft: np.ndarray
    elapsed: np.ndarray
    fallback: np.ndarray
    error: np.ndarray


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()
