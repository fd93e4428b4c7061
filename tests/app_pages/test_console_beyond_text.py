"""The cost console sums what calls did beyond text (AppTest): prompt caching's saving, images,
reasoning, cache reads and writes, tool calls; hidden while there is none."""
from __future__ import annotations

import dataclasses

from tests.app_pages.test_console import RECENT, TODAY, app, call, metrics  # noqa: F401

CLASSES = [
    dataclasses.replace(call("c1", "alice@example.com", "claude", "xray", TODAY, tokens=(10_000, 500),
                             cost=0.02355), reasoning_tokens=120, cache_read_tokens=6_000,
                        cache_write_tokens=3_000, tool_calls=2, saved_cost=0.01395),
    dataclasses.replace(call("i1", "bob@example.com", "gemini", "images", TODAY, tokens=(0, 0), cost=0.08),
                        model="imagen", provider_model="imagen-3.0-generate-001", kind="image",
                        metadata={"images": 2}),
]


def test_the_console_shows_cache_savings_images_reasoning_and_tool_calls(app):  # noqa: F811
    at = app("costs", calls=[*RECENT, *CLASSES]).run()
    assert not at.exception
    shown = metrics(at)
    assert (shown["Cache saved"], shown["Images"], shown["Reasoning tokens"]) == ("$0.0140", "2", "120")
    assert (shown["Cache read / write"], shown["Tool calls"]) == ("6,000 / 3,000", "2")


def test_without_such_calls_the_row_is_not_shown(app):  # noqa: F811
    at = app("costs", calls=RECENT).run()
    assert "Cache saved" not in metrics(at)
