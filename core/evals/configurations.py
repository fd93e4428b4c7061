"""What a run compares: 2 to 4 model configurations (model + settings + label), as the
playground's leaderboard does, so one model under different settings is a fair comparison.

- ``parse_contenders(specs, catalog)``: configurations from model names or dicts. The same
  model named twice without settings of its own is run at different temperatures
  (``VARIED_TEMPERATURES``) and labelled by them: ``--models local,local`` compares
  ``local · t=0.2`` with ``local · t=0.9``. A label a spec gives is kept; two configurations
  that would still share a label are numbered (``local #2``).
- ``parse_config(text)``: one ``LABEL=MODEL,key=value,...`` configuration (the CLI's ``--config``).
- ``offered(names, bundled=)``: the configurations a picker offers: each model as configured,
  and the bundled model at two temperatures too, so it alone fills a run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import BadRequestError

__all__ = ["Contender", "parse_contenders", "parse_config", "offered", "VARIED_TEMPERATURES"]

VARIED_TEMPERATURES = (0.2, 0.9, 0.5, 1.3)
_SETTINGS = ("temperature", "max_tokens")


@dataclass(frozen=True)
class Contender:
    """One model configuration of a run; ``label`` names its column (unique in a run)."""

    model: str
    label: str = ""
    temperature: float | None = None
    max_tokens: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label or self.model, "model": self.model,
                "temperature": self.temperature, "max_tokens": self.max_tokens}


def settings_label(model: str, temperature: float | None, max_tokens: int | None = None) -> str:
    """``local · t=0.2 · max 512``: the model and the settings it was given."""
    parts = [model]
    if temperature is not None:
        parts.append(f"t={temperature:g}")
    if max_tokens is not None:
        parts.append(f"max {max_tokens}")
    return " · ".join(parts)


def parse_contenders(specs: list, catalog) -> list[Contender]:
    """2 to 4 configurations from model names or dicts (model, label, temperature,
    max_tokens), each with a distinct label (see the module docstring). Unknown models raise
    ``UnknownModelError``; a bad setting ``BadRequestError``."""
    if not 2 <= len(specs or []) <= 4:
        raise BadRequestError(f"A run compares 2 to 4 model configurations, not {len(specs or [])}.")
    given = [{"model": s} if isinstance(s, str) else dict(s) for s in specs]
    for spec in given:
        spec["model"] = str(spec.get("model") or "").strip()
        catalog.get(spec["model"])
        spec["temperature"] = _temperature(spec.get("temperature"), spec["model"])
        spec["max_tokens"] = _max_tokens(spec.get("max_tokens"), spec["model"])
    _vary_repeated(given)
    named = [str(s.get("label") or "").strip() or _auto_label(s, given) for s in given]
    labels = [f"{label} #{named[:index + 1].count(label)}" if named.count(label) > 1 else label
              for index, label in enumerate(named)]
    return [Contender(s["model"], label, s["temperature"], s["max_tokens"])
            for s, label in zip(given, labels)]


def _vary_repeated(given: list[dict]) -> None:
    """A model named more than once, each time unlabelled and with the same settings, gets a
    different temperature per configuration: comparing identical ones measures only noise."""
    for model in {s["model"] for s in given}:
        same = [s for s in given if s["model"] == model]
        if len(same) < 2 or any(s.get("label") for s in same):
            continue
        if len({(s["temperature"], s["max_tokens"]) for s in same}) == 1:
            for spec, temperature in zip(same, VARIED_TEMPERATURES):
                spec["temperature"] = temperature


def _auto_label(spec: dict, given: list[dict]) -> str:
    """The model's name, with the settings that tell it apart when the model repeats."""
    same = [s for s in given if s["model"] == spec["model"]]
    if len(same) == 1:
        return spec["model"]
    varies = [k for k in _SETTINGS if len({s[k] for s in same}) > 1]
    return settings_label(spec["model"], spec["temperature"] if "temperature" in varies else None,
                          spec["max_tokens"] if "max_tokens" in varies else None)


def _temperature(value: Any, model: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 <= number <= 2:
        raise BadRequestError(f"{model}: temperature must be a number from 0 to 2, not {value!r}.")
    return number


def _max_tokens(value: Any, model: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool):
        raise BadRequestError(f"{model}: max_tokens must be a whole number of at least 1, not {value!r}.")
    return number


def parse_config(text: str) -> dict[str, Any]:
    """``LABEL=MODEL,key=value,...`` (keys: temperature, max_tokens) as a spec for
    ``parse_contenders``; ``BadRequestError`` naming what is wrong."""
    head, *pairs = [part.strip() for part in text.split(",")]
    label, sep, model = head.partition("=")
    if not sep or not label.strip() or not model.strip():
        raise BadRequestError(f"--config {text!r}: write LABEL=MODEL[,temperature=T][,max_tokens=N], "
                              "e.g. cool=local,temperature=0.2.")
    spec: dict[str, Any] = {"label": label.strip(), "model": model.strip()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in _SETTINGS:
            raise BadRequestError(f"--config {text!r}: {pair!r} is not a setting; use "
                                  "temperature=T or max_tokens=N.")
        spec[key] = value.strip()
    return spec


def offered(names: list[str], *, bundled: str | None = None) -> list[dict[str, Any]]:
    """What a picker offers, in order: each model as configured, and the ``bundled`` model
    (or the only model) also at each of the first two ``VARIED_TEMPERATURES``, so it alone
    makes a run. Each is
    ``{"label", "model", "temperature"}``."""
    choices = []
    for name in names:
        choices.append({"label": name, "model": name, "temperature": None})
        if name == bundled or len(names) == 1:
            choices += [{"label": settings_label(name, t), "model": name, "temperature": t}
                        for t in VARIED_TEMPERATURES[:2]]
    return choices
