"""The demo bot's free-text answers about the shop, worded a little differently each time, as an AI bot's are.

A question is about a topic when it holds one of the topic's words (hours: "open", "hours", …). Each topic has
several paraphrases that keep the facts' words, so any two score at least 0.7 with
`apichat.ai.similarity.score`, and made-up answers ("hallucinations") that score below 0.6 against every
paraphrase; `fault hallucinate` makes 1 answer in 3 one of those. Which paraphrase, whether buttons come with
it, and which answers are made up are drawn from one seeded random generator per sandbox (`Writer`), so the
same messages to a sandbox started with the same `--seed` (or after `seed N`) get the same answers.
Nothing here does I/O.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

DEFAULT_SEED = 0
WRONG_ONE_IN = 3  # with `fault hallucinate`, one answer in this many is made up


@dataclass(frozen=True)
class Topic:
    name: str
    words: frozenset[str]  # a question holding any of these words is about this topic
    answers: tuple[str, ...]  # paraphrases of the facts
    wrong: tuple[str, ...]  # made-up answers
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload) offered with some answers


TOPICS = (
    Topic("hours", frozenset({"open", "opening", "hours", "close", "closing", "closed"}), (
        "We are open 8 am to 6 pm on weekdays and 9 am to 1 pm on Saturdays.",
        "Our hours: weekdays 8 am to 6 pm, Saturdays 9 am to 1 pm.",
        "On weekdays we are open from 8 am to 6 pm, and on Saturdays from 9 am to 1 pm.",
        "You can visit us weekdays 8 am to 6 pm and Saturdays 9 am to 1 pm.",
    ), (
        "We are open 24 hours a day, every day, including Sundays.",
        "Sorry, we are closed all week for a holiday.",
    )),
    Topic("shipping", frozenset({"ship", "ships", "shipping", "deliver", "delivers", "delivery", "postage"}), (
        "Orders placed before noon ship the same day; metro deliveries arrive the next morning, everywhere else "
        "takes two to four working days.",
        "We ship orders placed before noon the same day: metro deliveries arrive the next morning, everywhere "
        "else in two to four working days.",
        "Order before noon and it ships the same day. Metro deliveries arrive the next morning; everywhere else "
        "takes two to four working days.",
    ), (
        "Shipping is free worldwide and every parcel is flown to you by drone within one hour.",
    ), (("☕ Products", "MENU_PRODUCTS"),)),
    Topic("returns", frozenset({"return", "returns", "refund", "refunds", "exchange", "swap"}), (
        "If a coffee is not to your taste, tell us within 30 days and we will swap it; equipment can be "
        "returned unused within 14 days.",
        "Tell us within 30 days if a coffee is not to your taste and we will gladly swap it. Unused equipment "
        "can be returned within 14 days.",
        "Not to your taste? We will swap a coffee within 30 days, and unused equipment can be returned within "
        "14 days.",
    ), (
        "Sorry, all sales are final: we never accept returns or give refunds.",
    ), (("🙋 Support", "MENU_SUPPORT"),)),
    Topic("products", frozenset({"sell", "selling", "stock", "range", "product", "buy", "offer"}), (
        "We sell the Espresso Blend at $12.90, the Cold Brew Kit at $29.00 and the Travel Mug at $18.50.",
        "Our range: the Espresso Blend ($12.90), the Cold Brew Kit ($29.00) and the Travel Mug ($18.50).",
        "Right now we sell three things: Espresso Blend for $12.90, Cold Brew Kit for $29.00 and Travel Mug "
        "for $18.50.",
    ), (
        "We sell laptops, phones and gaming consoles, all at half price this week.",
    ), (("☕ Products", "MENU_PRODUCTS"),)),
)


def topic_of(text: str) -> Topic | None:
    """The topic a free-text question is about (the first whose word it holds), or None."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    return next((t for t in TOPICS if t.words & words), None)


@dataclass(frozen=True)
class Written:
    text: str
    buttons: tuple[tuple[str, str], ...]
    wrong: bool


class Writer:
    """Picks the wording of each answer from one seeded generator; safe to share between threads."""

    def __init__(self, seed: int = DEFAULT_SEED):
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Start the sequence of wordings (and of made-up answers) over from `seed`."""
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)
            self._deck: list[bool] = []

    def write(self, topic: Topic, hallucinate: bool = False) -> Written:
        """An answer about `topic`; with `hallucinate`, one in WRONG_ONE_IN of them is made up."""
        with self._lock:
            wrong = hallucinate and self._deal()
            text = self._rng.choice(topic.wrong if wrong else topic.answers)
            buttons = topic.buttons if topic.buttons and self._rng.random() < 0.5 else ()
            return Written(text, buttons, wrong)

    def _deal(self) -> bool:
        """Whether this answer is made up: dealt from a shuffled deck holding one made-up card per
        WRONG_ONE_IN, so any WRONG_ONE_IN answers in a row from a fresh deck hold exactly one."""
        if not self._deck:
            self._deck = [True] + [False] * (WRONG_ONE_IN - 1)
            self._rng.shuffle(self._deck)
        return self._deck.pop()
