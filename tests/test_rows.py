"""Stored rows' JSON columns, decoded once and never crashing a reader."""

from __future__ import annotations

from apichat.rows import data_of, headers_of, raw_of


def test_raw_is_the_decoded_body_or_the_text_as_received():
    assert raw_of({"raw": '{"text": "hi", "n": [1]}'}) == {"text": "hi", "n": [1]}
    assert raw_of({"raw": "not json {"}) == "not json {"
    assert raw_of({"raw": None}) is None


def test_data_is_a_mapping_whatever_the_row_holds():
    assert data_of({"data": '{"kind": "text", "text": "hi"}'}) == {"kind": "text", "text": "hi"}
    assert data_of({"data": {"kind": "image"}}) == {"kind": "image"}  # already decoded (a scenario's reply)
    for broken in ({"data": ""}, {"data": None}, {"data": "[1, 2]"}, {"data": "{oops"}, {}):
        assert data_of(broken) == {}


def test_headers_come_from_the_named_column_or_are_empty():
    row = {"headers": '{"X-Hub-Signature-256": "sha256=ab"}', "request_headers": '{"Authorization": "Bearer ••••"}'}
    assert headers_of(row) == {"X-Hub-Signature-256": "sha256=ab"}
    assert headers_of(row, "request_headers") == {"Authorization": "Bearer ••••"}
    assert headers_of({"headers": "[]"}) == {} and headers_of({"headers": "nope"}) == {} and headers_of({}) == {}
