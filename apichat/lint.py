"""Channel-limit lint: what a bot message would break on the channels UChat bots reach.

Pure functions over a stored bot message (the parsed form of `payloads.parse_bot_message`, as a dict: the
`data` of a message row, or `BotMessage.to_dict()`). A rule id is `<channel>.<rule>`; a finding names the
rule, the limit, what the message has, and where (which button or card).

The limits are the platforms' documented ones; each rule carries its source. A UChat API Chat message is
channel-neutral, but the same flow reaches Messenger and WhatsApp contacts, where these limits make the
platform refuse or cut the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CHANNELS = ("messenger", "whatsapp")
DEFAULT_CHANNELS = CHANNELS

# Facebook Messenger
# https://developers.facebook.com/docs/messenger-platform/send-messages/template/button
#   "text: UTF-8-encoded text of up to 640 characters"; "buttons: Set of 1-3 buttons"
MESSENGER_BUTTON_TEXT = 640
MESSENGER_BUTTONS_MIN, MESSENGER_BUTTONS_MAX = 1, 3
# https://developers.facebook.com/docs/messenger-platform/send-messages/buttons
#   postback button "title: 20 character limit"; "payload: 1000 character limit"
MESSENGER_BUTTON_TITLE = 20
MESSENGER_PAYLOAD = 1000
# https://developers.facebook.com/docs/messenger-platform/send-messages/template/generic
#   "elements: ... Maximum of 10 elements"; "title: 80 character limit"; "subtitle: 80 character limit";
#   "buttons: Maximum of 3 buttons per element"
MESSENGER_ELEMENTS = 10
MESSENGER_CARD_TITLE = 80
MESSENGER_CARD_SUBTITLE = 80
MESSENGER_CARD_BUTTONS = 3
# https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies
#   "quick_replies: An array of objects ... A maximum of 13 quick replies are supported"
MESSENGER_QUICK_REPLIES = 13

# WhatsApp Cloud API, interactive messages
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
#   "You can include up to 3 buttons"; button "title ... Maximum 20 characters"; body "Maximum 1024 characters"
WHATSAPP_REPLY_BUTTONS = 3
WHATSAPP_BUTTON_TITLE = 20
WHATSAPP_BODY = 1024
# https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages
#   "sections ... Maximum 10 rows across all sections"; row "title ... Maximum 24 characters"
WHATSAPP_LIST_ROWS = 10
WHATSAPP_ROW_TITLE = 24

RULES = {  # rule id -> what it checks (shown in reports and in the scenario format's errors)
    "messenger.button_text": f"button template text <= {MESSENGER_BUTTON_TEXT} characters",
    "messenger.button_count": f"button template has {MESSENGER_BUTTONS_MIN}-{MESSENGER_BUTTONS_MAX} buttons",
    "messenger.button_title": f"button title <= {MESSENGER_BUTTON_TITLE} characters",
    "messenger.postback_payload": f"postback payload <= {MESSENGER_PAYLOAD} characters",
    "messenger.elements": f"generic template <= {MESSENGER_ELEMENTS} elements",
    "messenger.card_title": f"card title <= {MESSENGER_CARD_TITLE} characters",
    "messenger.card_subtitle": f"card subtitle <= {MESSENGER_CARD_SUBTITLE} characters",
    "messenger.card_buttons": f"<= {MESSENGER_CARD_BUTTONS} buttons per card",
    "messenger.quick_replies": f"<= {MESSENGER_QUICK_REPLIES} quick replies",
    "whatsapp.reply_buttons": f"<= {WHATSAPP_REPLY_BUTTONS} reply buttons (more need a list message)",
    "whatsapp.button_title": f"reply button title <= {WHATSAPP_BUTTON_TITLE} characters",
    "whatsapp.body": f"interactive message body <= {WHATSAPP_BODY} characters",
    "whatsapp.list_rows": f"list message <= {WHATSAPP_LIST_ROWS} rows",
    "whatsapp.row_title": f"list row title <= {WHATSAPP_ROW_TITLE} characters",
}


@dataclass(frozen=True)
class Finding:
    """One broken limit: the rule, where in the message, what the limit is and what the message has."""

    rule: str
    where: str
    limit: int
    actual: int

    @property
    def channel(self) -> str:
        return self.rule.split(".", 1)[0]

    @property
    def message(self) -> str:
        return f"{self.rule}: {self.where} has {self.actual}, limit {self.limit} ({RULES[self.rule]})"

    def to_dict(self) -> dict:
        return {"rule": self.rule, "where": self.where, "limit": self.limit, "actual": self.actual,
                "message": self.message}


def parse_channels(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Channels from a profile's setting ('messenger,whatsapp'; '' means none); unknown names raise ValueError."""
    if value is None:
        return DEFAULT_CHANNELS
    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    items = [v for v in items if v]
    unknown = [v for v in items if v not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel(s) {', '.join(unknown)}; lint knows {', '.join(CHANNELS)}")
    return tuple(c for c in CHANNELS if c in items)


def channels_of(profile: dict | None) -> tuple[str, ...]:
    """The channels a profile lints for (both when it says nothing, or something unreadable)."""
    value = (profile or {}).get("lint_channels")
    try:
        return parse_channels(value)
    except ValueError:
        return DEFAULT_CHANNELS


def _len(text) -> int:
    return len(text or "")


def _title(button: dict) -> str:
    return button.get("title") or button.get("payload") or ""


def _over(out: list[Finding], rule: str, where: str, limit: int, actual: int) -> None:
    if actual > limit:
        out.append(Finding(rule, where, limit, actual))


def _messenger(data: dict) -> list[Finding]:
    out: list[Finding] = []
    kind = data.get("kind")
    buttons = data.get("buttons") or []
    if kind == "buttons":
        _over(out, "messenger.button_text", "text", MESSENGER_BUTTON_TEXT, _len(data.get("text")))
        if not MESSENGER_BUTTONS_MIN <= len(buttons) <= MESSENGER_BUTTONS_MAX:
            limit = MESSENGER_BUTTONS_MAX if buttons else MESSENGER_BUTTONS_MIN
            out.append(Finding("messenger.button_count", "buttons", limit, len(buttons)))
    cards = data.get("cards") or []
    _over(out, "messenger.elements", "cards", MESSENGER_ELEMENTS, len(cards))
    groups = [("button", buttons), ("quick reply", data.get("quick_replies") or [])]
    for i, card in enumerate(cards, 1):
        name = f"card {i}"
        _over(out, "messenger.card_title", f"{name} title", MESSENGER_CARD_TITLE, _len(card.get("title")))
        _over(out, "messenger.card_subtitle", f"{name} subtitle", MESSENGER_CARD_SUBTITLE, _len(card.get("subtitle")))
        _over(out, "messenger.card_buttons", f"{name} buttons", MESSENGER_CARD_BUTTONS, len(card.get("buttons") or []))
        groups.append((f"{name} button", card.get("buttons") or []))
    for label, items in groups:
        for button in items:
            where = f'{label} "{_title(button)[:30]}"'
            if label != "quick reply":
                _over(out, "messenger.button_title", f"{where} title", MESSENGER_BUTTON_TITLE, _len(button.get("title")))
            if button.get("kind") == "postback":
                _over(out, "messenger.postback_payload", f"{where} payload", MESSENGER_PAYLOAD,
                      _len(button.get("payload")))
    _over(out, "messenger.quick_replies", "quick replies", MESSENGER_QUICK_REPLIES, len(data.get("quick_replies") or []))
    return out


def _whatsapp(data: dict) -> list[Finding]:
    """A button message or quick replies become reply buttons (up to 3) or, beyond, a list message; a carousel
    has no WhatsApp counterpart but a list whose rows are its cards."""
    out: list[Finding] = []
    choices = [b for b in (data.get("buttons") or []) + (data.get("quick_replies") or []) if b.get("kind") == "postback"]
    cards = data.get("cards") or []
    if choices:
        _over(out, "whatsapp.body", "text", WHATSAPP_BODY, _len(data.get("text")))
        _over(out, "whatsapp.reply_buttons", "buttons", WHATSAPP_REPLY_BUTTONS, len(choices))
        if len(choices) <= WHATSAPP_REPLY_BUTTONS:
            for b in choices:
                _over(out, "whatsapp.button_title", f'button "{_title(b)[:30]}" title', WHATSAPP_BUTTON_TITLE,
                      _len(b.get("title")))
        else:
            _over(out, "whatsapp.list_rows", "buttons", WHATSAPP_LIST_ROWS, len(choices))
            for b in choices:
                _over(out, "whatsapp.row_title", f'row "{_title(b)[:30]}" title', WHATSAPP_ROW_TITLE,
                      _len(b.get("title")))
    if cards:
        _over(out, "whatsapp.list_rows", "cards", WHATSAPP_LIST_ROWS, len(cards))
        for i, card in enumerate(cards, 1):
            _over(out, "whatsapp.row_title", f"card {i} title", WHATSAPP_ROW_TITLE, _len(card.get("title")))
    return out


CHECKS = {"messenger": _messenger, "whatsapp": _whatsapp}


def lint_message(data: dict, channels: Iterable[str] = DEFAULT_CHANNELS) -> list[Finding]:
    """Every limit `data` (a parsed bot message as a dict) breaks on `channels`; [] for a private note or a
    message that is not a dict."""
    if not isinstance(data, dict) or data.get("private"):
        return []
    out: list[Finding] = []
    for channel in CHANNELS:
        if channel in channels:
            out += CHECKS[channel](data)
    return out


def allowed(finding: Finding, allow: Iterable[str]) -> bool:
    return any(finding.rule == a or finding.channel == a for a in allow)


def summary(findings: list[Finding]) -> str:
    """A short line: 'messenger.elements (cards has 12, limit 10); …'."""
    return "; ".join(f"{f.rule} ({f.where} has {f.actual}, limit {f.limit})" for f in findings)
