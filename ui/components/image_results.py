"""Image generations side by side: each model's pictures with what they cost (or its error)."""
from __future__ import annotations

import base64

import streamlit as st

from core.pricing import cost_label

__all__ = ["show"]


def show(*, key: str, results: list) -> None:
    """One column per ``GenerationResult`` of ``AIService.generate_image`` (``kind="image"``)."""
    if not results:
        return
    for place, result in zip(st.columns(len(results)), results):
        with place:
            st.markdown(f"**{result.model}**")
            if not result.ok:
                st.error(result.error)
                continue
            for n, image in enumerate(result.images):
                if "b64_json" in image:
                    st.image(base64.b64decode(image["b64_json"]), caption=image.get("revised_prompt"))
                elif "url" in image:
                    st.image(image["url"], caption=image.get("revised_prompt"))
            count = len(result.images)
            tokens = (f" · {result.input_tokens} in / {result.output_tokens} out tokens"
                      if result.input_tokens or result.output_tokens else "")
            st.caption(f"{count} image{'s' if count != 1 else ''} · {cost_label(result.cost)}{tokens} · "
                       f"{result.response_time_ms / 1000:.1f} s")
