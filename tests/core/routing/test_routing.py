"""Complexity routes, model="auto", and the precedence of a named model, preferences and routes."""
from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.errors import AuthError, BadRequestError
from tests.emulated import PROVIDER_MODELS, Collected, make_service
from tests.fakes import Fault

ROUTES = {"simple": "gemini", "moderate": "gpt", "complex": "claude", "search": "web"}
WEB_MODEL = "gpt-4o"
CODE_PROMPT = "Fix the bug in this code:\n```python\nprint(undefined_name)\n```"


@pytest.fixture
def routed_service(emulator):
    """Factory: a service with ``ROUTES`` (overridable through ``parley``) and a collecting
    recorder; ``preferences`` is a reader like the service's preference book."""
    made = []

    def make(*, preferences=None, **parley):
        recorder = Collected()
        svc = make_service(emulator, recorder=recorder, parley={"routes": ROUTES, **parley},
                           web=("openai/" + WEB_MODEL, {}))
        svc.preferences = preferences
        made.append(svc)
        return svc, recorder

    yield make
    for svc in made:
        svc.close()


@pytest.fixture
def routed(routed_service):
    return routed_service()


def prefs(**stored):
    """A preference reader: ``default=`` is the user's default, other keys service types."""
    table = {(None if key == "default" else key): model for key, model in stored.items()}
    return lambda user_id: table if user_id == "u1" else {}


@pytest.mark.parametrize("level", sorted(ROUTES))
def test_each_complexity_goes_to_its_route(routed, emulator, level):
    svc, recorder = routed
    result = svc.generate_sync("Hello there", user_id="u1", complexity=level)
    target = ROUTES[level]
    assert result.model == target and result.route == level and result.source == "route"
    assert emulator.requests[-1].model == PROVIDER_MODELS.get(target, WEB_MODEL)
    assert f"sends {level} prompts to {target}" in result.route_reason
    assert recorder.records[-1].metadata["route"] == level


def test_auto_classifies_the_prompt_routes_it_and_records_why(routed, emulator):
    svc, recorder = routed
    result = svc.generate_sync(CODE_PROMPT, user_id="u1", model="auto")
    assert (result.model, result.route, result.source) == ("claude", "complex", "auto")
    assert result.route_reason == ("The prompt is complex because it contains code, and "
                                   "parley.routes sends complex prompts to claude.")
    assert emulator.requests[-1].model == PROVIDER_MODELS["claude"]
    logged = recorder.records[-1].metadata
    assert logged == {"route": "complex", "route_source": "auto", "route_reason": result.route_reason,
                      "client": "parley-python"}
    assert result.to_json()["route"] == "complex"


def test_auto_streams_too(routed, emulator):
    svc, _ = routed
    items = list(svc.stream_sync("What is the latest version of Python?", model="auto"))
    assert items[-1].model == "web" and items[-1].route == "search"
    assert emulator.requests[-1].stream and emulator.requests[-1].model == WEB_MODEL


def test_auto_without_a_route_for_the_class_says_so_and_uses_the_default(routed_service):
    svc, _ = routed_service(routes={"complex": "claude"})
    result = svc.generate_sync("What is the capital of France?", model="auto")
    assert result.model == "gemini" and result.route is None and result.source == "default"
    assert result.route_reason == (
        "The prompt is simple because it is a short request with no code, reasoning or search "
        "cues, but parley.routes has no simple route; gemini is the configured default "
        "(parley.default_model).")


def test_a_failed_routed_call_is_recorded_with_its_route(routed, emulator):
    svc, recorder = routed
    emulator.enqueue(PROVIDER_MODELS["gpt"], Fault("401"))
    with pytest.raises(AuthError):
        svc.generate_sync("Explain tides.", model="auto")
    assert recorder.records[-1].status == "failure"
    assert recorder.records[-1].metadata["route"] == "moderate"


def test_an_unknown_or_unrouted_complexity_is_refused_before_any_request(routed_service, emulator):
    svc, recorder = routed_service(routes={"complex": "claude"})
    with pytest.raises(BadRequestError, match="'hard' is not one of: simple, moderate"):
        svc.generate_sync("Hi", complexity="hard")
    with pytest.raises(BadRequestError, match="'simple' has no route; choose one of: complex"):
        svc.generate_sync("Hi", complexity="simple")
    assert emulator.requests == [] and recorder.records == []


# -- precedence ------------------------------------------------------------------------------

def test_a_named_model_wins_over_everything(routed_service):
    svc, _ = routed_service(preferences=prefs(default="gpt", xray="gpt"),
                            route_over_preferences=True)
    choice = svc.choose(user_id="u1", service_type="xray", model="gemini", complexity="complex")
    assert (choice.model, choice.source) == ("gemini", "explicit")


def test_auto_wins_over_stored_preferences(routed_service):
    svc, _ = routed_service(preferences=prefs(default="gpt", xray="gpt"))
    choice = svc.choose(user_id="u1", service_type="xray", model="auto", prompt=CODE_PROMPT)
    assert (choice.model, choice.source, choice.route) == ("claude", "auto", "complex")


def test_by_default_a_preference_wins_over_a_complexity_hint(routed_service):
    svc, _ = routed_service(preferences=prefs(default="gpt", xray="gemini"))
    for_xray = svc.choose(user_id="u1", service_type="xray", complexity="complex")
    assert (for_xray.model, for_xray.source, for_xray.route) == ("gemini", "service", None)
    assert for_xray.reason == ("gemini is your choice for xray, which wins over the complex "
                               "route (parley.route_over_preferences is off).")
    elsewhere = svc.choose(user_id="u1", service_type="other", complexity="complex")
    assert (elsewhere.model, elsewhere.source) == ("gpt", "user")
    nobody = svc.choose(user_id="u2", service_type="xray", complexity="complex")
    assert (nobody.model, nobody.source) == ("claude", "route")


def test_route_over_preferences_lets_the_hint_win(routed_service):
    svc, _ = routed_service(preferences=prefs(default="gpt", xray="gemini"),
                            route_over_preferences=True)
    choice = svc.choose(user_id="u1", service_type="xray", complexity="complex")
    assert (choice.model, choice.source, choice.route) == ("claude", "route", "complex")
    assert svc.choose(user_id="u1", service_type="xray").model == "gemini"


def test_the_preferred_model_answers_a_hinted_call_end_to_end(routed_service, emulator):
    svc, recorder = routed_service(preferences=prefs(default="gpt"))
    result = svc.generate_sync("Hello", user_id="u1", complexity="complex")
    assert result.model == "gpt" and emulator.requests[-1].model == PROVIDER_MODELS["gpt"]
    assert recorder.records[-1].metadata["route_source"] == "user"


def test_every_answer_says_why_its_model_was_chosen(routed):
    svc, _ = routed
    assert svc.generate_sync("Hi", model="gpt").route_reason == "gpt was named for this call."
    assert svc.generate_sync("Hi").route_reason == (
        "gemini is the configured default (parley.default_model).")


@pytest.mark.parametrize("parley, key", [
    ({"routes": {"hard": "claude"}}, "parley.routes.hard"),
    ({"route_over_preferences": "yes"}, "parley.route_over_preferences"),
])
def test_bad_routing_settings_name_the_key(emulator, parley, key):
    with pytest.raises(ConfigError) as caught:
        make_service(emulator, parley=parley)
    assert caught.value.key == key
