"""What every page shares: settings, the store, the sidecar processes and the active profile."""

from __future__ import annotations

import functools
import os
from typing import NoReturn

import streamlit as st

from apichat import outbox, profiles
from apichat.config import Settings, SettingsError, is_shared_store, load_settings
from apichat.services import ServiceStatus, ensure_service
from apichat.store import SchemaTooNew, Store, StoreUnavailable, open_store
from ui import login, safety

STORE_PROBLEM = "_store_problem"  # set by a page or a live fragment that met a missing store, shown by app.py


def require_app(page: str) -> None:
    """Go through app.py when a page runs without it.

    On a fresh server, a deep link (e.g. /inspector) makes Streamlit run the page straight from the
    pages/ folder, before app.py has declared the navigation: no sidebar, no receiver, no sandbox.
    """
    if not st.session_state.get("_app_ran"):
        st.session_state["_return_to"] = (page, st.query_params.to_dict())
        st.switch_page("app.py")


def settings() -> Settings:
    try:
        return _settings()
    except SettingsError as exc:
        st.error(f"**A setting is wrong:** {exc}. Fix the environment variable and restart the console.")
        st.stop()


@st.cache_resource(show_spinner=False)
def _settings() -> Settings:
    return load_settings()


def refuse_if_exposed(pages: list) -> None:
    """Stop every page with a warning when the UI listens beyond this machine without a password.

    Streamlit says where it listens (`server.address`: the project's config sets 127.0.0.1; a flag,
    STREAMLIT_SERVER_ADDRESS or a user config may change it). Nothing is started before this check.
    """
    address, port = st.get_option("server.address"), st.get_option("server.port")
    warning = safety.exposure_warning(address, port, password_set=login.gate().enabled, lan_ip=_lan_ip(),
                                      shared_store=is_shared_store(os.environ.get("APICHAT_DB")))
    if warning is None:
        if notice := safety.ui_host_notice(os.environ.get("APICHAT_UI_HOST"), address):
            st.info(notice, icon=":material/info:")
        return
    st.navigation(pages, position="hidden")  # every URL lands here; no menu to pages that cannot open
    st.error(warning, icon=":material/gpp_bad:")
    st.stop()


def _lan_ip() -> str | None:
    """This machine's address on its network (as Streamlit's "Network URL" finds it; no packet is sent)."""
    try:
        from streamlit import net_util

        return net_util.get_internal_ip()
    except Exception:  # only an example in a message
        return None


def store() -> Store:
    """The store, opened once per server; a store that cannot be opened stops the page with the reason."""
    try:
        return _store()
    except StoreUnavailable as exc:
        _say_store_problem(safety.store_problem(exc))
    except SchemaTooNew as exc:  # a newer console migrated it: say so, never a traceback
        _say_store_problem(f"**The store is newer than this console:** {safety.md(str(exc))}.")


@st.cache_resource(show_spinner=False)
def _store() -> Store:
    return open_store(settings().db_path)


def _say_store_problem(message: str) -> NoReturn:
    st.error(message, icon=":material/database:")
    st.stop()


def check_store() -> None:
    """Stop the page with one message when the store's file is gone, replaced or unreadable (app.py, every run)."""
    if message := st.session_state.pop(STORE_PROBLEM, None):
        _say_store_problem(message)
    try:
        store().ping()
    except StoreUnavailable as exc:
        _say_store_problem(safety.store_problem(exc))


def _unavailable(exc: Exception) -> StoreUnavailable | None:
    """The reason the store is unavailable when `exc` came from a store that went away (one os.stat), else None.

    A page may meet it as any error (a query on a file that vanished between two statements), so what
    decides is the store's own check, not the error's type.
    """
    if isinstance(exc, StoreUnavailable):
        return exc
    try:
        _store().check()
    except StoreUnavailable as gone:
        return gone
    return None


def _store_went_away(exc: Exception) -> NoReturn:
    """Rerun the whole app, which shows the message at the top instead of a traceback mid-page."""
    unavailable = _unavailable(exc)
    if unavailable is None:
        raise exc
    st.session_state[STORE_PROBLEM] = safety.store_problem(unavailable)
    st.rerun(scope="app")


def run_page(navigation) -> None:
    """Run the chosen page; a store that goes away meanwhile gives the one message, not a database error."""
    try:
        navigation.run()
    except Exception as exc:  # st.stop and st.rerun are not Exceptions: they pass untouched
        _store_went_away(exc)


def fragment(run_every: float | None = None):
    """`st.fragment` for a page's live part, which says so when the store goes away between two polls."""
    def decorate(func):
        @functools.wraps(func)
        def guarded(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                _store_went_away(exc)
        return st.fragment(guarded, run_every=run_every)
    return decorate


@st.cache_resource(show_spinner=False)
def sender() -> outbox.Sender:
    """The one Sender of this server: posts to bot_url run in its threads, so the page shows 'sending'."""
    return outbox.Sender()


@st.cache_resource(show_spinner="Starting the receiver and the sandbox…")
def services() -> dict[str, ServiceStatus]:
    """Start (or reuse) the receiver and the sandbox once per Streamlit server; connect the first profile."""
    cfg = settings()
    data_dir = cfg.data_dir
    env = dict(os.environ)
    found = {"receiver": ensure_service(
        "receiver", "receiver", cfg.receiver_url, "apichat-receiver",
        ["--host", cfg.receiver_host, "--port", str(cfg.receiver_port)], env,
        os.path.join(data_dir, "receiver.log"), store_id=store().store_id)}
    if cfg.sandbox:
        found["sandbox"] = ensure_service(
            "sandbox", "sandbox", cfg.sandbox_url, "apichat-sandbox",
            ["--port", str(cfg.sandbox_port), "--state", os.path.join(data_dir, "sandbox.json")], env,
            os.path.join(data_dir, "sandbox.log"))
    else:
        found["sandbox"] = ServiceStatus("sandbox", cfg.sandbox_url, "disabled", "APICHAT_SANDBOX=0")
    db = store()
    profiles.ensure_env_profile(db, cfg)
    try:
        profiles.complete_env_profile(db, cfg)
    except Exception as exc:  # shown at the top of the page; the console still opens
        found["receiver"].problem = f"The `env` profile's webhook could not be read from UChat: {exc}"
    if found["sandbox"].ok and found["receiver"].ok:
        try:
            profiles.connect_sandbox(db, cfg)
            if cfg.env_profile is None and not db.get_setting("default_profile"):
                db.set_default_profile(profiles.SANDBOX)
        except Exception as exc:  # shown in the sidebar; the console still opens
            found["sandbox"].problem = f"The sandbox is running, but connecting the `sandbox` profile failed: {exc}"
    return found


def active_profile() -> dict | None:
    """The profile the person is working with (one click to switch, in the sidebar)."""
    db = store()
    name = st.session_state.get("profile")
    profile = db.get_profile(name) if name else None
    if profile is None:
        profile = db.default_profile()
        if profile is not None:
            st.session_state["profile"] = profile["name"]
    return profile


def demo_mode() -> bool:
    return bool(st.session_state.get("demo_mode", False))
