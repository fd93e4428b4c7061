"""A key fixed to one service type sets only that service type's preference: it cannot
change its user's default model, nor another service type's choice."""
from __future__ import annotations

import pytest

from tests.core.api.conftest import api_env, in_process  # noqa: F401 - the fixtures


def post(api, secret, body):
    return api.http.post("/api/ai/preference", headers={"Authorization": f"Bearer {secret}"},
                         json=body)


def preference(api, secret, service_type=None):
    params = {"service_type": service_type} if service_type else {}
    return api.http.get("/api/ai/preference", headers={"Authorization": f"Bearer {secret}"},
                        params=params).json()


@pytest.mark.parametrize("body", [{"model": "claude"}, {"model": "claude", "service_type": None},
                                  {"model": "claude", "service_type": "answer_builder"}],
                         ids=["default", "explicit-null", "other-service"])
def test_a_service_key_cannot_set_the_default_or_another_services_model(in_process, body):  # noqa: F811
    api = in_process
    xray_key = api.make_key("grace", service_type="xray")
    own_key = api.make_key("grace")

    refused = post(api, xray_key, body)

    assert refused.status_code == 403, refused.json()
    error = refused.json()["error"]
    assert error["code"] == "service_not_allowed" and "xray" in error["message"]
    assert error["message"].endswith(".") and error["message"].count(". ") == 0
    assert preference(api, own_key) == {"user": "grace", "service": None, "model": "gemini",
                                        "source": "default"}  # unchanged
    assert preference(api, own_key, "answer_builder")["model"] == "gemini"


def test_a_service_key_sets_its_own_services_model(in_process):  # noqa: F811
    api = in_process
    xray_key = api.make_key("heidi", service_type="xray")
    saved = post(api, xray_key, {"model": "claude", "service_type": "xray"})
    assert saved.status_code == 200, saved.json()
    assert saved.json() == {"user": "heidi", "service": "xray", "model": "claude",
                            "source": "service"}
    assert preference(api, api.make_key("heidi"))["model"] == "gemini"  # the default stays
