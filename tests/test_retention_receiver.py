"""The receiver's background prune: a store past its retention loses exactly its old rows, and a webhook that
arrives while the prune runs is answered (before the prune is over) and kept."""

from __future__ import annotations

import json

import pytest
import requests

from apichat.config import SettingsError, load_settings, retention_from
from apichat.retention import plan
from apichat.signing import HEADER, sign
from apichat.store import core, open_store

from .conftest import free_port, process_env, wait_until

DAY = 86400.0
OLD_DELIVERIES = 50_000  # 100 batches: the prune lasts seconds, long enough to post a webhook inside it


def test_retention_settings_and_what_they_prune():
    default = load_settings({}).retention
    assert (default.deliveries_days, default.messages_days, default.runs_days) == (30.0, None, None)
    assert plan(default) == [(["deliveries", "requests"], 30 * DAY)]
    chosen = retention_from({"APICHAT_RETENTION_DAYS": "7", "APICHAT_MESSAGES_RETENTION_DAYS": "90",
                             "APICHAT_RUNS_RETENTION_DAYS": "keep"})
    assert plan(chosen) == [(["deliveries", "requests"], 7 * DAY), (["messages"], 90 * DAY)]
    assert plan(retention_from({"APICHAT_RETENTION_DAYS": "keep"})) == []
    assert ("deliveries and requests", "7 days") in chosen.describe()
    for bad in ("-1", "soon", "nan"):
        with pytest.raises(SettingsError, match="APICHAT_RETENTION_DAYS"):
            retention_from({"APICHAT_RETENTION_DAYS": bad})


def test_the_receiver_prunes_in_the_background_and_a_webhook_during_it_is_answered_and_kept(tmp_path, start_process):
    env = process_env(tmp_path, APICHAT_RETENTION_DAYS="30", APICHAT_RECEIVER_PORT=str(free_port()))
    store = open_store(env["APICHAT_DB"])
    store.save_profile("p", verify_key="k")
    old, recent = core.now() - 40 * DAY, core.now() - 29 * DAY
    many = "SELECT 1 FROM (VALUES " + ", ".join(["(1)"] * 1000) + ")"
    with store.write() as conn:
        for _ in range(OLD_DELIVERIES // 1000):
            conn.execute("INSERT INTO deliveries (received_at, profile, outcome, status_code, body) "
                         f"SELECT ?, 'p', 'rejected', 401, ? FROM ({many})", (old, b"old"))
        conn.execute("INSERT INTO deliveries (received_at, profile, outcome, status_code, body) "
                     f"SELECT ?, 'p', 'rejected', 401, ? FROM ({many}) LIMIT 100", (recent, b"recent"))
        conn.execute(f"INSERT INTO requests (created_at, method, url) SELECT ?, 'GET', 'old' FROM ({many})", (old,))
        conn.execute(f"INSERT INTO requests (created_at, method, url) SELECT ?, 'GET', 'new' FROM ({many}) LIMIT 10",
                     (recent,))
    url = f"http://127.0.0.1:{env['APICHAT_RECEIVER_PORT']}"

    start_process(["-m", "receiver"], env, url)
    wait_until(store.prune_claim, timeout=60, message="the background prune to start")
    body = json.dumps({"sender_id": "c1", "conv_id": 1, "text": "during the prune"}).encode()
    answer = requests.post(f"{url}/webhook/p", data=body, timeout=30,
                           headers={"Content-Type": "application/json", HEADER: sign(body, "k")})
    assert answer.status_code == 200, answer.text
    # answered while the prune still ran: the webhook waited for a batch, not for the whole prune
    assert store.prune_claim() is not None
    wait_until(lambda: store.prune_claim() is None, timeout=120, message="the prune to finish")

    kept = store.list_deliveries(limit=1000)
    assert len(kept) == 101 and store.count_deliveries() == 101
    assert sorted({bytes(d["body"]) for d in kept}) == [b"recent", body]
    assert all(d["received_at"] >= recent for d in kept)
    assert {r["url"] for r in store.list_requests(limit=1000)} == {"new"} and len(store.list_requests()) == 10
    conversation = store.list_conversations("p")[0]["id"]
    assert [m["text"] for m in store.messages_since(conversation)] == ["during the prune"]
    store.close()
