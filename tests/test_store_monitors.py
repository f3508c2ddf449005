"""The monitors' tables on both backends: the lease is claimed by one holder at a time, expires, and a run
whose holder lost it reads (and is then written) as interrupted."""

from __future__ import annotations

import pytest

from apichat.store import core, open_store


@pytest.fixture
def db(store_target):
    store = open_store(store_target)
    yield store
    store.close()


def test_one_holder_at_a_time_until_the_lease_expires(db, monkeypatch):
    assert db.claim_monitor("m", "a", 10) is True
    assert db.claim_monitor("m", "b", 10) is False, "a current lease was taken over"
    assert db.claim_monitor("m", "a", 10) is True, "the holder could not renew by claiming again"
    assert db.claim_monitor("other", "b", 10) is True, "leases of other monitors are not in the way"
    at = core.now()
    monkeypatch.setattr(core, "now", lambda: at + 11)
    assert db.renew_monitor("m", "b", 10) is False
    assert db.claim_monitor("m", "b", 10) is True, "an expired lease was not given to the next claimer"
    assert db.renew_monitor("m", "a", 10) is False and db.renew_monitor("m", "b", 10) is True
    db.release_monitor("m", "a")  # not a's: nothing happens
    assert db.claim_monitor("m", "a", 10) is False
    db.release_monitor("m", "b")
    assert db.claim_monitor("m", "a", 10) is True


def test_a_run_whose_holder_lost_the_lease_is_interrupted(db, monkeypatch):
    db.claim_monitor("m", "a", 5)
    run = db.start_monitor_run("m", "a")
    assert db.get_monitor_run(run)["status"] == "running"
    at = core.now()
    monkeypatch.setattr(core, "now", lambda: at + 6)
    assert db.get_monitor_run(run)["status"] == "interrupted", "a run past its holder's lease still reads running"
    raw = db._row("SELECT status FROM monitor_runs WHERE id = ?", (run,))
    assert raw["status"] == "running"
    assert db.claim_monitor("m", "b", 5)
    assert db._row("SELECT status FROM monitor_runs WHERE id = ?", (run,))["status"] == "interrupted"
    db.finish_monitor_run(run, status="passed")  # the killed holder cannot finish it after all
    assert db.get_monitor_run(run)["status"] == "interrupted"
    mine = db.start_monitor_run("m", "b")
    db.finish_monitor_run(mine, status="failed", problem="x.yaml:3: no reply", first_p50_ms=12.5)
    assert [(r["id"], r["status"]) for r in db.list_monitor_runs("m")] == [(mine, "failed"), (run, "interrupted")]
    assert db.last_monitor_start("m") == pytest.approx(at + 6)


def test_notices_are_kept_and_the_last_one_is_known(db):
    assert db.last_monitor_notice("m") is None
    db.add_monitor_alert("m", run=1, kind="down", target="slack https://hooks.slack.com/••••••XXXX", status="failed",
                         attempts=3, error="HTTP 500")
    db.add_monitor_alert("m", run=4, kind="recovery", target="", status="none", attempts=0)
    assert db.last_monitor_notice("m") == "recovery"
    assert [(a["kind"], a["status"], a["attempts"]) for a in db.list_monitor_alerts("m")] == [
        ("recovery", "none", 0), ("down", "failed", 3)]
