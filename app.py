"""Parley's Streamlit entry: page config, identity, and the role-aware navigation.

Everyone gets compare, chat, preferences, usage and providers; admins also get the cost
console. For anyone else the admin pages are registered but hidden, and the gate below shows
"Admins only" instead of running them, so a direct link (``/costs``) shows no data. In team
mode a visitor who has not signed in gets the login page and nothing else.
"""
import streamlit as st

from ui.state import is_admin, login_page, require_admin, show_identity, signed_in

ADMIN_PAGES = {"costs"}  # url paths only admins may open

st.set_page_config(page_title="Parley", page_icon="🗣️", layout="wide")

if not signed_in():
    st.navigation([st.Page(login_page, title="Log in", url_path="login", default=True)],
                  position="hidden").run()
    st.stop()

show_identity()
pages = [
    st.Page("pages/compare.py", title="Compare", icon="⚖️", url_path="compare", default=True),
    st.Page("pages/chat.py", title="Chat", icon="💬", url_path="chat"),
    st.Page("pages/preferences.py", title="Preferences", icon="⭐", url_path="preferences"),
    st.Page("pages/usage.py", title="Your usage", icon="📈", url_path="usage"),
    st.Page("pages/providers.py", title="Providers", icon="🔌", url_path="providers"),
]
admin = is_admin()
pages.append(st.Page("pages/costs.py", title="Cost console", icon="💰", url_path="costs",
                     visibility="visible" if admin else "hidden"))
page = st.navigation(pages)
if page.url_path in ADMIN_PAGES and not admin:
    require_admin()
page.run()
