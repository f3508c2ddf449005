"""What the console says before it lets anyone in (ui/safety.py), and the socket reader the browser tests trust."""

from __future__ import annotations

import os
import socket

import pytest

from apichat.store import StoreUnavailable
from tests.sockets import listening, loopback
from ui import safety


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST",
                                     "app.localhost"])
def test_loopback_addresses(address):
    assert safety.is_loopback(address)


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "[::]", "192.168.1.23", "10.0.0.1", "fe80::1",
                                     "2001:db8::5", "no-such-host.invalid"])
def test_addresses_others_can_reach(address):
    assert not safety.is_loopback(address)


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_no_warning_on_loopback(address):
    assert safety.exposure_warning(address, 8501, password_set=False, lan_ip="192.168.1.23") is None
    assert safety.exposure_warning(address, 8501, password_set=True) is None


@pytest.mark.parametrize("address", [None, "0.0.0.0", "::"])
def test_every_interface_names_who_can_reach_it_what_they_can_read_and_the_safe_way(address):
    warning = safety.exposure_warning(address, 8601, password_set=False, lan_ip="192.168.1.23")
    assert warning.startswith("**This console can be reached from other machines, so it refuses to run.**")
    for said in ("every network interface of this machine", "same office or café Wi-Fi", "on your VPN",
                 "without a password (for example at http://192.168.1.23:8601), read every conversation and webhook delivery",
                 "partner, flow and verification keys of every profile", "send messages as any contact",
                 "**To share it**, set a password and restart", "`python -m apichat.auth hash`",
                 "`streamlit run app.py`", "`ssh -L 8601:127.0.0.1:8601 you@this-machine`",
                 "http://127.0.0.1:8601"):
        assert said in warning, said
    assert ("(IPv4 and IPv6)" in warning) == (address != "0.0.0.0")


def test_no_example_address_when_the_machine_has_none():
    warning = safety.exposure_warning("0.0.0.0", 8501, password_set=False, lan_ip="127.0.0.1")
    assert "for example" not in warning and "every network interface" in warning


def test_one_address_of_a_network_is_named():
    warning = safety.exposure_warning("192.168.1.23", 8501, password_set=False, lan_ip="10.9.9.9")
    assert "Streamlit listens on `192.168.1.23`, port 8501, which is not loopback." in warning
    assert "Anyone who can reach 192.168.1.23" in warning and "10.9" not in warning
    assert "without a password (at http://192.168.1.23:8501), read every conversation" in warning


@pytest.mark.parametrize("address", [None, "0.0.0.0", "192.168.1.23"])
def test_with_a_password_the_console_may_listen_beyond_loopback_because_every_page_asks_for_it(address):
    assert safety.exposure_warning(address, 8501, password_set=True) is None
    assert safety.exposure_warning(address, 8501, password_set=True, shared_store=True) is None


def test_a_shared_store_without_a_password_is_named_in_the_refusal():
    warning = safety.exposure_warning("0.0.0.0", 8501, password_set=False, shared_store=True)
    assert "refuses to run" in warning and "The store is a shared database (team mode)" in warning
    assert "shared database" not in safety.exposure_warning("0.0.0.0", 8501, password_set=False)
    assert safety.exposure_warning("127.0.0.1", 8501, password_set=False, shared_store=True) is None


def test_ui_host_that_streamlit_does_not_use_is_pointed_out():
    assert safety.ui_host_notice(None, "127.0.0.1") is None
    assert safety.ui_host_notice("", "127.0.0.1") is None
    assert safety.ui_host_notice("127.0.0.1", "127.0.0.1") is None
    notice = safety.ui_host_notice("0.0.0.0", "127.0.0.1")
    assert notice.startswith("`APICHAT_UI_HOST` is `0.0.0.0`, but Streamlit listens on `127.0.0.1`")
    assert 'streamlit run app.py --server.address "$APICHAT_UI_HOST"' in notice and "refused" in notice


def test_the_store_message_is_one_readable_line_whatever_the_path():
    exc = StoreUnavailable("/tmp/my_data/console.db", "its folder /tmp/my_data was deleted")
    assert str(exc) == ("the store at /tmp/my_data/console.db is missing or unreadable: its folder /tmp/my_data was "
                        "deleted; restart the console or point APICHAT_DB at a store")
    message = safety.store_problem(exc)
    assert message == (r"**The store at `/tmp/my_data/console.db` is missing or unreadable:** its folder /tmp/my\_data "
                       "was deleted; restart the console or point `APICHAT_DB` at a store.")


def test_markdown_is_shown_literally():
    assert safety.md("*a* _b_ [c](d) `e` $f$ :material/x:") == (
        r"\*a\* \_b\_ \[c\]\(d\) \`e\` \$f\$ \:material/x\:")


def test_the_socket_reader_sees_a_listener_on_every_interface():
    """The browser test's "loopback only" could fail: the reader does see an exposed socket."""
    with socket.socket() as exposed, socket.socket() as local:
        exposed.bind(("0.0.0.0", 0))
        exposed.listen()
        local.bind(("127.0.0.1", 0))
        local.listen()
        found = listening(os.getpid())
        assert ("0.0.0.0", exposed.getsockname()[1]) in found and ("127.0.0.1", local.getsockname()[1]) in found
    assert not loopback("0.0.0.0") and loopback("127.0.0.1") and loopback("::1")


def test_the_team_stores_message_names_the_server_masked_and_says_it_comes_back():
    exc = StoreUnavailable("postgresql://qa:••••••@db.internal/apichat", "Connection refused",
                           message="cannot reach the PostgreSQL server of APICHAT_DB "
                                   "postgresql://qa:••••••@db.internal/apichat: Connection refused")
    message = safety.store_problem(exc)
    assert message.startswith("**The team store cannot be used:** cannot reach the PostgreSQL server")
    assert "by itself" in message and "restart the console" not in message
