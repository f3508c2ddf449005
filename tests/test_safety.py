"""What the console says when it cannot go on (ui/safety.py)."""

from __future__ import annotations

from apichat.store import StoreUnavailable
from ui import safety


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
