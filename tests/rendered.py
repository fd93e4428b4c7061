"""What a reader sees of the Markdown a page sends (AppTest reads the source): backslash
escapes resolved, bold markers and Streamlit's empty ``:name[]`` spans dropped, a hard line
break read as a line break."""
from __future__ import annotations

import re

__all__ = ["seen"]

_MARKUP = re.compile(r"\\([!-/:-@\[-`{-~])|\*\*|:[a-z][\w-]*\[\]| {2,}\n")


def seen(markdown: str) -> str:
    """``markdown`` as the text it renders to, for the few constructs Parley's own lines use."""
    return _MARKUP.sub(lambda m: m.group(1) or ("\n" if m.group(0).endswith("\n") else ""),
                       markdown)
