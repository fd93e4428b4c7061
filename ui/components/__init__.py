"""Streamlit widgets, one module per widget, each with ``show(key=...)`` owning its session keys."""
