"""A page on a team store (APICHAT_DB=postgresql://…) that cannot be used shows one message, the password
masked, never a traceback: an unreachable server, a schema newer than this console."""

from __future__ import annotations

import pytest

from apichat.processes import free_port
from apichat.store import open_store
from tests.conftest import app_page

from .pg import PASSWORD


@pytest.fixture
def team_db(monkeypatch, tmp_path):
    import streamlit as st

    def use(url: str) -> None:
        monkeypatch.setenv("APICHAT_DB", url)
        monkeypatch.setenv("APICHAT_MEDIA_DIR", str(tmp_path / "media"))
        st.cache_resource.clear()

    yield use
    st.cache_resource.clear()


@pytest.mark.parametrize("case", ["unreachable", "newer schema"])  # wrong credentials: tests/test_store_cli.py
def test_a_team_store_that_cannot_be_used_is_one_message_on_the_page(case, team_db, pg_cluster):
    if case == "unreachable":
        url, expected = (f"postgresql://qa:{PASSWORD}@127.0.0.1:{free_port()}/apichat",
                         "The team store cannot be used:** cannot reach the PostgreSQL server")
    else:
        url = pg_cluster.new_database()
        with open_store(url).write() as conn:
            conn.execute("UPDATE schema_version SET version = 99")
        expected = "The store is newer than this console:** "
    team_db(url)
    at = app_page("chat").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and expected in at.error[0].value, [e.value for e in at.error]
    assert PASSWORD not in at.error[0].value and "••••••" in at.error[0].value
    assert not at.chat_input  # nothing else drawn
