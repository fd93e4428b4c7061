"""Waiting on a Streamlit page in Playwright: import these in browser tests."""
from __future__ import annotations

__all__ = ["open_app", "settle"]


def open_app(page, url: str) -> None:
    """Go to ``url`` and wait until Streamlit has rendered and finished its script run."""
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]')
    settle(page)


def settle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the app is not running a script (the status widget is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
