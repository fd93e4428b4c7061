"""A client's cache marks, read from chat messages and set again on the messages a call sends."""
from __future__ import annotations

import pytest

from core.errors import BadRequestError
from core.prompt_cache import CacheMarks, cache_marks, with_cache_marks
from tests.emulated import make_service

HOUR = {"type": "ephemeral", "ttl": "1h"}
MARK = {"type": "ephemeral"}


def test_marks_are_read_per_turn_with_their_ttl():
    marks = cache_marks([
        {"role": "system", "content": [{"type": "text", "text": "a"},
                                       {"type": "text", "text": "b", "cache_control": HOUR}]},
        {"role": "user", "content": [{"type": "text", "text": "c", "cache_control": MARK},
                                     {"type": "text", "text": "d"}]},
        {"role": "assistant", "content": "e"},
        {"role": "tool", "tool_call_id": "t1", "content": "f", "cache_control": MARK}])
    assert marks == CacheMarks(system=HOUR, turns={0: MARK, 2: MARK})
    assert not cache_marks([{"role": "user", "content": "plain"}])


def test_marks_are_set_on_the_messages_sent():
    sent = with_cache_marks([{"role": "system", "content": "S"}, {"role": "user", "content": "c d"},
                             {"role": "assistant", "content": "e"}],
                            CacheMarks(system=HOUR, turns={0: MARK, 5: MARK}))
    assert [m.get("cache_control") for m in sent] == [HOUR, MARK, None]
    assert [m["content"] for m in sent] == ["S", "c d", "e"]


def test_no_marks_leave_the_messages_as_they_are():
    messages = [{"role": "user", "content": "hi"}]
    assert with_cache_marks(messages, CacheMarks()) is messages
    assert with_cache_marks(messages, None) is messages


def test_a_call_with_marks_that_are_not_cache_marks_is_refused(emulator):
    service = make_service(emulator)
    try:
        with pytest.raises(BadRequestError, match="CacheMarks"):
            service.generate_sync("hi", model="claude", cache_marks={"system": True})
    finally:
        service.close()
