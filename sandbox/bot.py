"""The demo bot: a pure function from a contact's message to the replies it sends back.

It shows off every message kind of the channel with a small coffee shop, so a person can
click through menus while a sales demo runs, and it answers `help` with its commands.
Nothing here does I/O: delivery, timing and faults belong to `sandbox.delivery`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import ai, texts
from .messages import Outgoing, card, phone_number, postback, web_url

FAULTS = ("bad_signature", "duplicate", "late", "out_of_order", "drop", "hallucinate")
GREETINGS = ("hi", "hello", "hey", "start", "menu", "get started")
PRODUCTS = (  # sku, title, price, blurb, image name
    ("ESPRESSO", "Espresso Blend", "$12.90", "250 g · dark chocolate & hazelnut notes", "espresso"),
    ("COLDBREW", "Cold Brew Kit", "$29.00", "1 L jar, filter and two bags of coarse grind", "cold-brew"),
    ("MUG", "Travel Mug", "$18.50", "350 ml ceramic, keeps coffee hot for 2 hours", "mug"),
)
SHOP_URL = "https://example.com/northwind-coffee"
SHOP_PHONE = "+61255501234"


@dataclass
class Reply:
    """One webhook body, sent `delay` seconds after the previous reply of the same answer."""

    body: dict
    delay: float = 0.0


@dataclass
class Answer:
    """Everything the bot does about one incoming message."""

    command: str
    replies: list[Reply] = field(default_factory=list)
    fault: dict | None = None  # {"fault", "count", "delay"} to switch on before sending
    clear_faults: bool = False
    bypass_faults: bool = False  # a fault switch's own confirmation must arrive intact


@dataclass
class Context:
    say: Outgoing
    name: str
    media_base: str
    slow_seconds: float

    def media_url(self, name: str) -> str:
        return f"{self.media_base.rstrip('/')}/{name}"


# ---------------------------------------------------------------- menus

def greeting(ctx: Context) -> list[Reply]:
    text = (f"Hi {ctx.name}! 👋 I'm Bean, the assistant of Northwind Coffee. "
            "What would you like to see? (Type help for everything I can do.)")
    return [Reply(ctx.say.buttons(text, [
        postback("☕ Products", "MENU_PRODUCTS"),
        postback("🎬 Media", "MENU_MEDIA"),
        postback("🙋 Support", "MENU_SUPPORT"),
        postback("✨ More demos", "MENU_MORE"),
    ]))]


def help_text(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.text(texts.HELP))]


def media_menu(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.buttons("Which kind of media should I send you?", [
        postback("🖼️ Image", "SEND_IMAGE"), postback("🔊 Audio", "SEND_AUDIO"),
        postback("🎞️ Video", "SEND_VIDEO"), postback("📄 File", "SEND_FILE"),
    ]))]


def more_menu(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.buttons("A few more things a bot can do — pick one:", [
        postback("Burst of 5", "DEMO_BURST"), postback("Slow reply", "DEMO_SLOW"),
        postback("Unknown type", "DEMO_UNKNOWN"), postback("Long text", "DEMO_LONG"),
        postback("Emoji", "DEMO_EMOJI"), postback("Right-to-left", "DEMO_RTL"),
        postback("Square cards", "DEMO_SQUARE_CARDS"), postback("Link & call buttons", "DEMO_LINKS"),
    ]))]


# ---------------------------------------------------------------- products

def carousel(ctx: Context, ratio: str = "horizontal") -> list[Reply]:
    suffix = "-square" if ratio == "square" else ""
    items = [card(f"{title} · {price}", blurb, ctx.media_url(f"{image}{suffix}.png"), [
        postback("Add to cart", f"ADD_{sku}"),
        postback("Tell me more", f"INFO_{sku}"),
        web_url("View online", f"{SHOP_URL}/{image}"),
    ]) for sku, title, price, blurb, image in PRODUCTS]
    return [Reply(ctx.say.cards("Here are this week's bestsellers ☕", items, ratio))]


def square_carousel(ctx: Context) -> list[Reply]:
    return carousel(ctx, "square")


def product_action(ctx: Context, payload: str) -> list[Reply] | None:
    action, _, sku = payload.partition("_")
    product = next((p for p in PRODUCTS if p[0] == sku), None)
    if product is None or action not in ("ADD", "INFO"):
        return None
    _, title, price, blurb, _ = product
    if action == "INFO":
        return [Reply(ctx.say.buttons(f"{title} — {price}. {blurb}. {texts.INFO[sku]}", [
            postback("Add to cart", f"ADD_{sku}"), postback("Back to products", "MENU_PRODUCTS")]))]
    return [Reply(ctx.say.buttons(f"Added 1 × {title} ({price}) to your cart 🛒", [
        postback("Checkout", "CHECKOUT"), postback("Keep shopping", "MENU_PRODUCTS")]))]


def checkout(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.buttons(texts.CHECKOUT, [postback("Place order", "PLACE_ORDER"),
                                                   postback("Main menu", "MENU")]))]


def place_order(ctx: Context) -> list[Reply]:
    """The order's confirmation; its number is always the same (a demo), so a recorded conversation replays."""
    return [Reply(ctx.say.text(texts.ORDER_PLACED))]


# ---------------------------------------------------------------- media

def _media(kind: str, caption: str, name: str):
    def send(ctx: Context) -> list[Reply]:
        return [Reply(ctx.say.text(caption)), Reply(ctx.say.media(kind, ctx.media_url(name)))]
    return send


send_image = _media("image", "Fresh from the bar — today's latte art:", "latte.png")
send_audio = _media("audio", "Here's the sound of your order being ready 🔔", "chime.wav")
send_video = _media("video", "A short clip for you 🎞️", "clip.webm")
send_file = _media("file", "Our price list, as a PDF:", "price-list.pdf")


def echo_media(ctx: Context, attachments: list[dict]) -> list[Reply]:
    kinds = ", ".join(a["file_type"] for a in attachments)
    replies = [Reply(ctx.say.text(f"Thanks! Got your {kinds} — here it is back:"))]
    return replies + [Reply(ctx.say.media(a["file_type"], a["data_url"])) for a in attachments]


# ---------------------------------------------------------------- support and stress tests

def support(ctx: Context) -> list[Reply]:
    note = ctx.say.agent("Maya", f"{ctx.name} asked for a person. I'm taking this one. "
                                 "(Private note: only agents see it.)", private=True)
    reply = ctx.say.agent("Maya", f"Hi {ctx.name}, Maya from the Northwind team here 😊 "
                                  "I've got your chat — how can I help?", private=False)
    return [Reply(note), Reply(reply, delay=0.3)]


def burst(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.text(line)) for line in texts.BURST]


def slow(ctx: Context) -> list[Reply]:
    text = (f"Sorry to keep you waiting! This reply was held back {ctx.slow_seconds:g} s on purpose, "
            "so you can see how the console shows a slow bot.")
    return [Reply(ctx.say.text(text), delay=ctx.slow_seconds)]


def unknown_kind(ctx: Context) -> list[Reply]:
    text = "How would you rate your coffee today?"
    body = {**ctx.say.text(text), "content_type": "rating_template",
            "content_attributes": {"text": text, "scale": 5, "labels": ["Bad", "Great"]}}
    return [Reply(body)]


def location(ctx: Context) -> list[Reply]:
    body = {**ctx.say.text("Northwind Coffee, 12 Harbour St, Sydney"), "type": "location",
            "latitude": -33.8568, "longitude": 151.2153}
    return [Reply(body)]


def links(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.buttons("Prefer to browse or to talk to us? Both work:", [
        web_url("Open our website", SHOP_URL), phone_number("Call the shop", SHOP_PHONE),
        postback("Main menu", "MENU")]))]


def xss(ctx: Context) -> list[Reply]:
    return [Reply(ctx.say.text(texts.XSS_TEXT)), Reply(ctx.say.buttons(texts.XSS_BUTTONS_TEXT, [
        web_url("Open (javascript: link)", "javascript:alert(1)"),
        postback("<img src=x onerror=alert(1)>", "MENU")]))]


def _text(name: str, value: str):
    def send(ctx: Context) -> list[Reply]:
        return [Reply(ctx.say.text(value))]
    send.__name__ = name
    return send


COMMANDS = {  # text command -> handler; also what `help` lists
    **dict.fromkeys(GREETINGS, greeting),
    **dict.fromkeys(("help", "?", "commands"), help_text),
    **dict.fromkeys(("products", "cards", "carousel"), carousel),
    **dict.fromkeys(("square cards", "square"), square_carousel),
    "media": media_menu, "more": more_menu,
    **dict.fromkeys(("image", "picture", "photo"), send_image),
    "audio": send_audio, "video": send_video,
    **dict.fromkeys(("file", "pdf", "document"), send_file),
    **dict.fromkeys(("agent", "support", "human"), support),
    "burst": burst, "slow": slow, "unknown": unknown_kind, "location": location,
    "long": _text("long_text", texts.LONG), "emoji": _text("emoji", texts.EMOJI),
    **dict.fromkeys(("rtl", "arabic", "hebrew"), _text("rtl", texts.RTL)),
    **dict.fromkeys(("links", "buttons", "call"), links),
    "xss": xss,
}
POSTBACKS = {
    "MENU": greeting, "MENU_PRODUCTS": carousel, "MENU_MEDIA": media_menu, "MENU_SUPPORT": support,
    "MENU_MORE": more_menu, "SEND_IMAGE": send_image, "SEND_AUDIO": send_audio, "SEND_VIDEO": send_video,
    "SEND_FILE": send_file, "DEMO_BURST": burst, "DEMO_SLOW": slow, "DEMO_UNKNOWN": unknown_kind,
    "DEMO_LONG": COMMANDS["long"], "DEMO_EMOJI": COMMANDS["emoji"], "DEMO_RTL": COMMANDS["rtl"],
    "DEMO_SQUARE_CARDS": square_carousel, "DEMO_LINKS": links, "CHECKOUT": checkout,
    "PLACE_ORDER": place_order,
}


# ---------------------------------------------------------------- faults

def fault_command(ctx: Context, words: list[str]) -> Answer:
    """`fault <name> [count] [delay]`, `fault off`: switches for the next replies, confirmed at once."""
    answer = Answer("fault", bypass_faults=True)
    name = words[0] if words else ""
    if name in ("off", "clear", "none", "reset"):
        answer.clear_faults = True
        answer.replies = [Reply(ctx.say.text("🧪 All faults are off: replies go out normally again."))]
        return answer
    numbers = []
    for word in words[1:3]:
        try:
            numbers.append(float(word))
        except ValueError:
            break
    if name not in FAULTS or (numbers and (numbers[0] < 1 or numbers[0] != int(numbers[0]))):
        answer.replies = [Reply(ctx.say.text(texts.FAULT_USAGE))]
        return answer
    count = int(numbers[0]) if numbers else 1
    delay = numbers[1] if len(numbers) > 1 else 5.0
    answer.fault = {"fault": name, "count": count, "delay": delay}
    what = texts.FAULT_EFFECTS[name].format(delay=f"{delay:g}")
    plural = "reply" if count == 1 else f"{count} replies"
    answer.replies = [Reply(ctx.say.text(f"🧪 Fault on: the next {plural} {what}. Type fault off to stop."))]
    return answer


# ---------------------------------------------------------------- questions about the shop, in varied wording

def shop_answer(ctx: Context, topic: ai.Topic, writer: ai.Writer, hallucinate: bool) -> list[Reply]:
    written = writer.write(topic, hallucinate)
    if written.buttons:
        return [Reply(ctx.say.buttons(written.text, [postback(title, code) for title, code in written.buttons]))]
    return [Reply(ctx.say.text(written.text))]


def seed_command(ctx: Context, words: list[str], writer: ai.Writer) -> Answer:
    """`seed N`: the answers about the shop start over from seed N (`seed` alone says which one is in use)."""
    answer = Answer("seed", bypass_faults=True)
    if not words:
        text = f"🎲 The seed is {writer.seed}. Type seed N to replay the wording of my answers from seed N."
    elif len(words) == 1 and words[0].isdigit():
        writer.reseed(int(words[0]))
        text = f"🎲 Seed {writer.seed}: my answers about the shop start over from the same wording."
    else:
        text = texts.SEED_USAGE
    answer.replies = [Reply(ctx.say.text(text))]
    return answer


# ---------------------------------------------------------------- dispatch

def _normalize(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?,;:") or text.strip()


def respond(payload: dict, *, media_base: str, first_contact: bool = False, slow_seconds: float = 3.0,
            writer: ai.Writer | None = None, hallucinate: Callable[[], bool] = lambda: False) -> Answer:
    """The bot's answer to a validated incoming message (see sandbox.validation).

    `writer` words the answers to questions about the shop (a fresh one with the default seed when None);
    `hallucinate()` is asked once per such answer whether the `hallucinate` fault applies to it.
    """
    sender = payload["sender"]
    name = (sender.get("name") or "").split(" ")[0] or "there"
    ctx = Context(Outgoing(sender["id"], payload["conversation_id"]), name, media_base, slow_seconds)
    answer = _dispatch(ctx, payload, writer or ai.Writer(), hallucinate)
    if first_contact and answer.command not in ("greeting", "help_text"):
        answer.replies = greeting(ctx) + answer.replies
    return answer


def _dispatch(ctx: Context, payload: dict, writer: ai.Writer, hallucinate: Callable[[], bool]) -> Answer:
    if payload["event"] == "message_postback":
        button = payload["submitted_values"][0]
        code = button["payload"].strip()
        handler = POSTBACKS.get(code)
        if handler is not None:
            return Answer(handler.__name__, handler(ctx))
        replies = product_action(ctx, code)
        if replies is not None:
            return Answer("product", replies)
        text = f"That button (payload “{code}”) isn't wired to anything in this demo. Type menu to start over."
        return Answer("unknown_postback", [Reply(ctx.say.text(text))])
    if payload.get("attachments"):
        return Answer("echo_media", echo_media(ctx, payload["attachments"]))
    command = _normalize(payload["content"])
    words = command.split()
    if words and words[0] in ("fault", "faults"):
        return fault_command(ctx, words[1:])
    if words and words[0] == "seed":
        return seed_command(ctx, words[1:], writer)
    handler = COMMANDS.get(command)
    if handler is not None:
        return Answer(handler.__name__, handler(ctx))
    topic = ai.topic_of(command)
    if topic is not None:
        return Answer(f"shop_{topic.name}", shop_answer(ctx, topic, writer, hallucinate()))
    text = f"You said: “{payload['content'].strip()}”. I'm a demo bot and know a few commands — type help to see them."
    return Answer("echo", [Reply(ctx.say.text(text))])
