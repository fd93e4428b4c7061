"""Parley's Streamlit entry: page config, identity, and the role-aware navigation.

Everyone gets compare, chat, preferences, usage, providers and API keys (and images once an
image model is configured: until then /images is registered but not in the sidebar, and a
direct link says what it needs); admins also get the cost console, reconciliation and the
audit log. For anyone else the admin pages are registered but hidden, and the gate below shows
"Admins only" instead of running them, so a direct link (``/costs``) shows no data. In team
mode a visitor who has not signed in gets the login page, whatever URL they opened. In local
mode a browser that is not on this machine gets a refusal page and nothing else.
"""
import streamlit as st

from core import ConfigError
from core.image_requests import image_models
from ui.deps import alert_watcher, service
from ui.state import (is_admin, login_page, refuse_remote_client, require_admin, show_identity,
                      signed_in)

# (script, title, icon, url path); the root URL opens the first. Material icons ship with
# Streamlit, so they show on machines without an emoji font.
PAGES = [("app_pages/compare.py", "Compare", ":material/compare_arrows:", "compare"),
         ("app_pages/chat.py", "Chat", ":material/chat:", "chat"),
         ("app_pages/images.py", "Images", ":material/image:", "images"),
         ("app_pages/preferences.py", "Preferences", ":material/star:", "preferences"),
         ("app_pages/usage.py", "Your usage", ":material/monitoring:", "usage"),
         ("app_pages/evals.py", "Evaluations", ":material/science:", "evals"),
         ("app_pages/calls.py", "Calls", ":material/receipt_long:", "calls"),
         ("app_pages/providers.py", "Providers", ":material/power:", "providers"),
         ("app_pages/keys.py", "API keys", ":material/key:", "keys"),
         ("app_pages/costs.py", "Cost console", ":material/payments:", "costs"),
         ("app_pages/reconciliation.py", "Reconciliation", ":material/balance:", "reconciliation"),
         ("app_pages/audit.py", "Audit log", ":material/history:", "audit")]
ADMIN_PAGES = {"costs", "reconciliation", "audit"}  # url paths only admins may open

st.set_page_config(page_title="Parley", page_icon="🗣️", layout="wide")
refuse_remote_client()  # local mode: only this machine's browser (its user is an admin)
try:
    service()  # parley.yaml is read and checked here, once per process
except ConfigError as err:
    st.title("Parley's configuration needs fixing")
    st.error(str(err))
    st.caption("Fix it, then restart the app.")
    st.stop()


def open_first_screen() -> None:
    """The root URL opens the first screen at its own address (/compare). A default page has
    no address of its own, so making compare the default would answer /compare with
    "Page not found"."""
    st.switch_page(screens[0])


if not signed_in():
    st.navigation([st.Page(login_page, title="Log in", url_path="login", default=True)]
                  + [st.Page(login_page, title="Log in", url_path=path) for _, _, _, path in PAGES],
                  position="hidden").run()
    st.stop()

show_identity()
alert_watcher()  # spend alerts (parley.alerts), checked on their own thread
admin = is_admin()
unlisted = (set() if admin else set(ADMIN_PAGES)) | (set() if image_models(service().settings)
                                                      else {"images"})
screens = [st.Page(script, title=title, icon=icon, url_path=path,
                   visibility="hidden" if path in unlisted else "visible")
           for script, title, icon, path in PAGES]
page = st.navigation([st.Page(open_first_screen, title="Parley", url_path="home", default=True,
                              visibility="hidden"), *screens])
if page.url_path in ADMIN_PAGES and not admin:
    require_admin()
page.run()
service().warm()  # litellm loads in the background once the first page has painted
