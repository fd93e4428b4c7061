"""Finding 3: a template (Jinja's sandbox) with nested ``range(100000)`` loops ran for hours,
and ``{{ 'a'*200000000 }}`` rendered 200 MB. Rendering is now bounded in time and size, and a
refusal names the limit it hit."""
from __future__ import annotations

import pytest

from core.bounded import LimitExceeded
from core.prompts import PromptTemplate, render
from tests.security.conftest import run_isolated

NESTED = "{% for i in range(N) %}{% for j in range(N) %}{{ '' }}{% endfor %}{% endfor %}done"


@pytest.mark.parametrize("n, limit", [(100_000, "at most 10,000 numbers"),
                                      (10_000, "2-second limit")])
def test_nested_loops_are_stopped_and_say_which_limit(n, limit):
    out = run_isolated(f"""
        from core.errors import BadRequestError
        from core.prompts import render
        try:
            render({NESTED.replace("N", str(n))!r}, {{}}, where="Row 1")
        except BadRequestError as err:
            print(type(err).__name__, err)
    """)
    assert out.startswith("LimitExceeded Row 1: ") and limit in out


@pytest.mark.parametrize("text", [
    "{{ 'a' * 200000000 }}",
    "{{ 'a' | center(200000000) }}",
    "{{ '%0200000000d' % 1 }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{{ ('a' * 1000000).replace('a', 'aaaaaaaaaaaaaaaaaaaaaa') }}",
    "{% for i in range(10000) %}{{ x }}{% endfor %}",
])
def test_a_template_cannot_build_more_than_the_size_limit(text):
    with pytest.raises(LimitExceeded, match="4,000,000-character limit|field width over 4,000,000"):
        render(text, {"x": "y" * 1000})


def test_huge_numbers_are_refused():
    with pytest.raises(LimitExceeded, match="4,300 digits"):
        render("{{ 9 ** 9999999 }}", {})


def test_a_template_that_calls_itself_forever_is_a_bad_request():
    with pytest.raises(Exception) as caught:
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {})
    assert "calls itself too deeply" in str(caught.value)


def test_ordinary_templates_render_as_before():
    template = PromptTemplate("t", 1, "Summarise {{ doc }} in {{ n }} words. {% for i in range(3) %}{{ i }}{% endfor %}",
                              system="You are {{ role | upper }}.")
    assert template.render({"doc": "d" * 3_000_000, "n": 5, "role": "terse"})[0] == "You are TERSE."
    assert template.render({"doc": "x", "n": 5, "role": "r"})[1] == "Summarise x in 5 words. 012"
