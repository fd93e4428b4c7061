"""``streamlit run server.py`` (what ``scripts/app`` runs): the UI and the HTTP API on one port.

Streamlit finds ``app`` (an ``st.App``) here and serves it: ``app.py`` runs per session as
the UI, and the API routes (core/api) answer beside it, on the same service and recorder the
pages use. ``python -m core serve`` runs the API alone. ``PageBase`` tells the browser where
the server is, so opening a page's address (``/costs``) logs no 404 (ui/page_base.py).
"""
import streamlit as st
from starlette.middleware import Middleware

from ui.deps import api_routes
from ui.page_base import PageBase

app = st.App("app.py", routes=api_routes(), middleware=[Middleware(PageBase)])
