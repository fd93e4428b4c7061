"""Streamlit-only helpers. core never imports this package."""
