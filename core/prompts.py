"""Prompt templates: a system prompt and a user template with ``{{variables}}``, versioned.

A low-level module (only Jinja2 and ``core.errors``), so ``AIService.generate(template=...)``,
the store and ``core.evals`` all use it.

Templates are rendered by Jinja2's ``SandboxedEnvironment`` with ``StrictUndefined``: a
template cannot reach Python internals, and a variable the template uses but the row does not
give raises ``BadRequestError`` naming it (never an empty string sent to a model). Rendering is
bounded (core/template_limits.py): at most ``RENDER_SECONDS`` and ``MAX_RENDERED_CHARS``, or
``LimitExceeded`` naming the limit; ``render_bounded`` does it in a worker process
(core/isolated.py), off the event loop and away from the server's GIL. Saving a
template always adds a new version (``name@1``, ``name@2``...); nothing is edited in place, so
runs and calls keep pointing at the exact text they used.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import jinja2
from jinja2 import meta

from core.bounded import Deadline, LimitExceeded
from core.errors import BadRequestError
from core.isolated import run_isolated
from core.template_limits import MAX_RENDERED_CHARS, RENDER_SECONDS, BoundedSandbox, generate_bounded

__all__ = ["PromptTemplate", "parse_ref", "check_name", "variables_of", "render", "check_source",
           "render_texts", "render_bounded", "RENDER_SECONDS", "MAX_RENDERED_CHARS"]

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_ENV = BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=False,
                      keep_trailing_newline=True)


@dataclass(frozen=True)
class PromptTemplate:
    """One stored version of a template. ``variables`` are the names its texts use."""

    name: str
    version: int
    template: str
    system: str | None = None
    service_type: str | None = None
    variables: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_by: str = ""
    created_at: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, variables: Mapping[str, Any], *, where: str = "") -> tuple[str | None, str]:
        """``(system, prompt)`` for ``variables``; see ``render``. Bounded, but on the calling
        thread: from a coroutine, await ``render_bounded(template, variables)`` instead."""
        return render_texts(self.system, self.template, variables, where)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "PromptTemplate":
        """From a stored row (``EvalStore.template``)."""
        return cls(row["name"], row["version"], row["template"], row.get("system"),
                   row.get("service_type"), tuple(row.get("variables") or ()),
                   dict(row.get("settings") or {}), row.get("id"), row.get("created_by") or "",
                   row.get("created_at") or "")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "ref": self.ref,
                "service_type": self.service_type, "system": self.system,
                "template": self.template, "variables": list(self.variables),
                "settings": dict(self.settings), "created_by": self.created_by,
                "created_at": self.created_at}


def check_name(name: Any) -> str:
    """A template or dataset name: letters, digits, ``_ - .``, at most 64 characters."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadRequestError(f"{name!r} is not a usable name; use 1 to 64 letters, digits, "
                              "'_', '-' or '.'.")
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ``("name", 3)``; ``"name"`` -> ``("name", None)`` (the latest)."""
    name, _, version = (ref or "").partition("@")
    check_name(name)
    if not version:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise BadRequestError(f"{ref!r}: the version after '@' must be a whole number from 1.")
    return name, int(version)


def check_source(text: Any, part: str = "template") -> str:
    """Refuse text that is empty or not valid Jinja2, saying where the syntax breaks."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequestError(f"The {part} is empty; write the prompt, with {{{{variables}}}} "
                              "where each row's values go.")
    try:
        _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise BadRequestError(f"The {part} is not a valid template at line {exc.lineno}: "
                              f"{exc.message}.") from None
    return text


def variables_of(*texts: str | None) -> tuple[str, ...]:
    """The variable names the texts use, sorted (what a dataset row must give)."""
    names: set[str] = set()
    for text in texts:
        if text:
            names |= meta.find_undeclared_variables(_ENV.parse(text))
    return tuple(sorted(names))


def render(text: str, variables: Mapping[str, Any], *, where: str = "",
           part: str = "template") -> str:
    """Render ``text`` with ``variables``. A missing variable raises ``BadRequestError``:
    "``where``: the template uses {{ x }} but no value for x was given"; a template that
    misbehaves in the sandbox raises the same type with its reason; one that runs longer than
    ``RENDER_SECONDS`` or builds more than ``MAX_RENDERED_CHARS`` raises ``LimitExceeded``
    naming the limit. Runs on the calling thread (see ``render_bounded``)."""
    prefix = f"{where}: " if where else ""
    try:
        with Deadline(RENDER_SECONDS, f"rendering the {part}"):
            return generate_bounded(_compiled(text), dict(variables))
    except LimitExceeded as exc:
        raise LimitExceeded(f"{prefix}{exc}" if prefix else str(exc)) from None
    except RecursionError:
        raise BadRequestError(f"{prefix}the {part} calls itself too deeply to render.") from None
    except jinja2.UndefinedError as exc:
        missing = _missing_name(str(exc.message or exc))
        given = ", ".join(sorted(variables)) or "none"
        raise BadRequestError(f"{prefix}the {part} uses {{{{ {missing} }}}} but no value for "
                              f"{missing!r} was given (variables given: {given}).") from None
    except jinja2.exceptions.SecurityError as exc:
        raise BadRequestError(f"{prefix}the {part} tried something the sandbox forbids ({exc}).") from None
    except jinja2.TemplateError as exc:
        raise BadRequestError(f"{prefix}the {part} could not be rendered ({exc}).") from None


def render_texts(system: str | None, template: str, variables: Mapping[str, Any],
                 where: str = "") -> tuple[str | None, str]:
    """``(system, prompt)``: the system prompt (if any) and the template rendered with
    ``variables``; see ``render``. What a worker process runs for ``render_bounded``."""
    rendered = render(system, variables, where=where, part="system prompt") if system else None
    return rendered, render(template, variables, where=where, part="template")


async def render_bounded(template: PromptTemplate, variables: Mapping[str, Any], *,
                         where: str = "") -> tuple[str | None, str]:
    """``template.render(variables)`` in a worker process (core/isolated.py): the same
    ``(system, prompt)`` and errors, each text within ``RENDER_SECONDS``; a worker that
    overruns both is killed and the caller gets ``LimitExceeded``. The event loop, and every
    other request on it, keeps running meanwhile."""
    system, prompt = await run_isolated(render_texts, template.system, template.template,
                                        dict(variables), where, seconds=RENDER_SECONDS * 2,
                                        what=f"rendering template {template.ref}")
    return system, prompt


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> jinja2.Template:
    """A template compiled once (compiling costs far more than rendering a row)."""
    return _ENV.from_string(text)


def _missing_name(message: str) -> str:
    found = re.search(r"'([^']+)' is undefined", message)
    return found.group(1) if found else message
