"""Text someone typed or an identity provider gave (a user id, an email) for Streamlit's
Markdown, so that it shows as itself.

Streamlit renders captions, alerts and ``st.markdown`` as GitHub-flavoured Markdown, which
makes every email a ``mailto:`` link and reads ``*``, ``_``, ``$`` or ``:`` in a user id as
formatting. A backslash before ``@`` does not stop the link: the autolink is found in the
text after escapes are resolved. An empty ``:small[]`` span (Streamlit's own directive, an
empty ``<span>`` in the page) between the name and the ``@`` does: it shows nothing, copies
as nothing, and the two halves are no longer one address to the autolinker.
"""
from __future__ import annotations

import string

__all__ = ["plain"]

_BREAK = ":small[]"


def plain(text: str) -> str:
    """``text`` as Markdown that renders as exactly ``text``: every ASCII punctuation mark
    escaped, and no link made of an email in it."""
    escaped = "".join("\\" + c if c in string.punctuation else c for c in text)
    return escaped.replace("\\@", _BREAK + "\\@")
