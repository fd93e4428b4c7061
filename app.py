"""Parley's Streamlit entry: page config, identity, and the role-aware navigation.

Everyone gets compare, chat, preferences, usage and providers; admins also get the cost
console. For anyone else the admin pages are registered but hidden, and the gate below shows
"Admins only" instead of running them, so a direct link (``/costs``) shows no data. In team
mode a visitor who has not signed in gets the login page, whatever URL they opened.
"""
import streamlit as st

from ui.state import is_admin, login_page, require_admin, show_identity, signed_in

# (script, title, icon, url path); the first is the home page
PAGES = [("views/compare.py", "Compare", "⚖️", "compare"),
         ("views/chat.py", "Chat", "💬", "chat"),
         ("views/preferences.py", "Preferences", "⭐", "preferences"),
         ("views/usage.py", "Your usage", "📈", "usage"),
         ("views/providers.py", "Providers", "🔌", "providers"),
         ("views/costs.py", "Cost console", "💰", "costs")]
ADMIN_PAGES = {"costs"}  # url paths only admins may open

st.set_page_config(page_title="Parley", page_icon="🗣️", layout="wide")

if not signed_in():
    st.navigation([st.Page(login_page, title="Log in", url_path=path, default=i == 0)
                   for i, (_, _, _, path) in enumerate(PAGES)], position="hidden").run()
    st.stop()

show_identity()
admin = is_admin()
page = st.navigation([
    st.Page(script, title=title, icon=icon, url_path=path, default=i == 0,
            visibility="hidden" if path in ADMIN_PAGES and not admin else "visible")
    for i, (script, title, icon, path) in enumerate(PAGES)])
if page.url_path in ADMIN_PAGES and not admin:
    require_admin()
page.run()
