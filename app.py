"""Parley's Streamlit entry: page config, identity, and the navigation between screens."""
import streamlit as st

from ui.state import current_user

st.set_page_config(page_title="Parley", page_icon="🗣️", layout="wide")

with st.sidebar:
    st.text_input("You are", key="parley_user", value=current_user(),
                  help="Your user id: calls, preferences and usage are recorded under it.")

pages = [
    st.Page("pages/ask.py", title="Ask", icon="💬", url_path="ask", default=True),
]
st.navigation(pages).run()
