"""The Inspector page with Streamlit's AppTest, on a temp store with deliveries the receiver kept (no browser)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from apichat import signing
from apichat.payloads import parse_bot_message
from apichat.store import Store
from tests.conftest import app_page

KEY = "inspector-page-key"
REPLY = {"sender_id": "ana", "conv_id": 3, "text": "hello from the bot", "type": "text"}


@pytest.fixture
def store(page_store):
    page_store.save_profile("p1", verify_key=KEY)
    return page_store


def accepted(db: Store) -> int:
    raw = json.dumps(REPLY).encode()
    return db.accept_webhook(profile="p1", route="/webhook/p1", method="POST",
                             headers={signing.HEADER: signing.sign(raw, KEY)}, body=raw,
                             message=parse_bot_message(raw))[1]


def rejected(db: Store) -> int:
    """A reply signed with another key, refused as the receiver refuses it."""
    raw = json.dumps({**REPLY, "text": "forged"}).encode()
    return db.record_delivery(profile="p1", route="/webhook/p1", method="POST",
                              headers={"Content-Type": "application/json",
                                       signing.HEADER: signing.sign(raw, "some-other-key")},
                              body=raw, outcome="rejected", status_code=401, reason="signature mismatch")


def open_page(item: str | None = None) -> AppTest:
    # with an item: a link to one entry, as the chat's delivery links are
    return app_page("inspector", **({"item": item} if item else {})).run()


def rows(at: AppTest) -> list[dict]:
    table = at.dataframe[0].value
    return (table.data if hasattr(table, "data") else table).to_dict("records")


def test_a_rejected_delivery_is_listed_with_its_reason(store):
    first, second = accepted(store), rejected(store)
    at = open_page()
    assert not at.exception
    listed = rows(at)
    assert [r["id"] for r in listed] == [f"d-{second}", f"d-{first}"]
    assert (listed[0]["outcome"], listed[0]["status"], listed[0]["reason"]) == ("rejected", 401, "signature mismatch")
    assert listed[1]["outcome"] == "accepted"


def test_filters_narrow_the_table(store):
    accepted(store)
    refused = rejected(store)
    at = open_page()
    at.selectbox(key="in-outcome").set_value("rejected").run()
    assert [r["id"] for r in rows(at)] == [f"d-{refused}"]
    at.selectbox(key="in-outcome").set_value("sent").run()
    assert not at.dataframe and any("Nothing matches yet" in i.value for i in at.info)


def test_a_linked_rejected_delivery_explains_why_and_what_to_do(store):
    refused = rejected(store)
    at = open_page(f"d-{refused}")
    assert any(f"Delivery d-{refused} · rejected" in m.value for m in at.markdown)
    why = " ".join(e.value for e in at.error)
    assert "signature mismatch" in why
    assert any("What to do" in i.value for i in at.info)
    assert any(c.value == "Rejected deliveries never reach the chat." for c in at.caption)


def test_an_entry_that_is_not_in_the_store_says_so(store):
    at = open_page("d-42")
    assert any(c.value == "d-42 is not in the store." for c in at.caption)


def test_the_page_says_how_long_rows_are_kept_and_clears_a_profiles_history(store):
    accepted(store)
    rejected(store)
    at = open_page()
    assert any("Kept 30 days" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "in-clear"]  # only with one profile picked
    profile = store.list_deliveries()[0]["profile"]
    at.selectbox(key="in-profile").set_value(profile).run()
    at.button(key="in-clear").click().run()
    assert not at.exception
    assert [d for d in store.list_deliveries() if d["profile"] == profile] == []
