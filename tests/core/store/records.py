"""Call records for store tests, and the usage a store must report for them (computed here
in Python, from the records themselves)."""
from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from typing import Iterable

from core.results import CallRecord

BASE_TIME = dt.datetime(2025, 3, 30, 12, 0, tzinfo=dt.timezone.utc)
MODELS = {"claude": "anthropic", "gemini": "gemini", "gpt": "openai", "local": "ollama"}
_DIMENSION = {"user": "user_id", "model": "model", "provider": "provider",
              "service": "service_type"}


def make_record(**fields) -> CallRecord:
    model = fields.pop("model", "claude")
    values = dict(call_id=str(uuid.uuid4()), user_id="alice@example.com", service_type="xray",
                  model=model, provider=MODELS.get(model, "anthropic"),
                  provider_model=f"{model}-v1", status="success", created_at=BASE_TIME,
                  input_tokens=100, output_tokens=40, total_tokens=140, total_cost=0.002,
                  response_time_ms=812.5, ttft_ms=120.0, metadata={"source": "test"})
    values.update(fields)
    return CallRecord(**values)


def random_records(n: int, seed: int = 7) -> list[CallRecord]:
    """A varied mix: 4 users, 4 models, 3 services, 10 days, failures, unknown prices, demo."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        model = rng.choice(list(MODELS))
        failed = rng.random() < 0.1
        tokens_in, tokens_out = (0, 0) if failed else (rng.randint(1, 4000), rng.randint(1, 900))
        cost = None if model == "local" or rng.random() < 0.05 else round(rng.random() / 100, 6)
        out.append(make_record(
            user_id=rng.choice(["alice@example.com", "bob@example.com", "carol", "dan-42"]),
            model=model, service_type=rng.choice(["xray", "smart_questions", "answer_builder"]),
            status="failure" if failed else "success", error_class="RateLimitError" if failed else None,
            input_tokens=tokens_in, output_tokens=tokens_out, total_tokens=tokens_in + tokens_out,
            total_cost=cost, is_demo=rng.random() < 0.2,
            created_at=BASE_TIME + dt.timedelta(minutes=rng.randint(-5 * 1440, 5 * 1440))))
    return out


def day_of(record: CallRecord) -> str:
    return record.created_at.astimezone(dt.timezone.utc).date().isoformat()


def expected_usage(records: Iterable[CallRecord], by: str) -> dict[str, dict]:
    """key -> the totals a store must report for ``by``, summed from the records."""
    totals: dict[str, dict] = defaultdict(lambda: dict(calls=0, failures=0, input_tokens=0,
                                                       output_tokens=0, cost=0.0, unpriced_calls=0))
    for record in records:
        key = day_of(record) if by == "day" else getattr(record, _DIMENSION[by])
        row = totals[key]
        row["calls"] += 1
        row["failures"] += record.status == "failure"
        row["input_tokens"] += record.input_tokens
        row["output_tokens"] += record.output_tokens
        if record.total_cost is None:
            row["unpriced_calls"] += 1
        else:
            row["cost"] += record.total_cost
    return dict(totals)
