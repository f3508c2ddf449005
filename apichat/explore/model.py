"""What a crawl produces: actions, turns, states, edges and findings, and the map that holds them (map.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..rows import data_of

MAP_VERSION = 1
FINDING_KINDS = ("dead_end", "broken", "loop", "send_error", "rejected", "lint", "ignored", "endless", "unstable",
                 "limit")
START = "start"  # the node every start message leaves from


@dataclass(frozen=True)
class Action:
    """What the contact does: send a text, or press a postback button (on a card, when `card` is set)."""

    type: str  # send | postback
    title: str = ""
    payload: str = ""
    text: str = ""
    card: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the action to the bot: the text sent, or the postback's payload."""
        return ("send", self.text) if self.type == "send" else ("postback", self.payload)

    @property
    def label(self) -> str:
        if self.type == "send":
            return f'send "{self.text}"'
        return (f"{self.card} › " if self.card else "") + (self.title or self.payload)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v or k == "type"}

    @classmethod
    def from_dict(cls, data: dict) -> Action:
        return cls(**{k: str(data.get(k, "") or "") for k in ("type", "title", "payload", "text", "card")})


@dataclass
class Turn:
    """The replies to one action, as store rows (kind, author, data, raw, created_at); what went wrong, if anything."""

    replies: list[dict] = field(default_factory=list)
    error: str = ""  # the send failed: UChat's (or the transport's) reason
    seconds: float | None = None  # from the action to the turn's last reply
    first: float | None = None  # ... to its first reply
    cut: bool = False  # the bot was still talking when the turn's limit ended it
    rejected: list[dict] = field(default_factory=list)  # webhooks refused during the turn: {id, status_code, reason}


@dataclass
class State:
    """Replies that belong together (one turn), merged with others by their normalised signature."""

    id: str
    signature: str
    replies: list[dict]  # {kind, author, data, raw}: the first turn that reached the state, raw payloads kept
    path: list[Action]  # how it was first reached
    depth: int
    choices: list[Action] = field(default_factory=list)  # postback buttons, card buttons and quick replies
    links: list[dict] = field(default_factory=list)  # url and call buttons: leaves, never followed
    final: bool = False  # looks like an end (a goodbye, a human took over)
    visits: int = 1
    paraphrases: int = 0  # turns merged in because their text was similar enough (Limits.similarity), not equal
    lowest_similarity: float | None = None  # the least similar of them

    @property
    def preview(self) -> str:
        for reply in self.replies:
            data = data_of(reply)
            if data.get("text"):
                return data["text"]
            if data.get("cards"):
                return " | ".join(c.get("title", "") for c in data["cards"])
        return self.replies[0].get("kind", "") if self.replies else ""

    def to_dict(self) -> dict:
        return {"id": self.id, "signature": self.signature, "depth": self.depth, "final": self.final,
                "visits": self.visits, "preview": self.preview[:200],
                **({"paraphrases": self.paraphrases, "lowest_similarity": self.lowest_similarity}
                   if self.paraphrases else {}),
                "path": [a.to_dict() for a in self.path], "choices": [a.to_dict() for a in self.choices],
                "links": self.links, "replies": self.replies}

    @classmethod
    def from_dict(cls, data: dict) -> State:
        return cls(id=data["id"], signature=data.get("signature", data["id"]), replies=data.get("replies") or [],
                   path=[Action.from_dict(a) for a in data.get("path") or []], depth=int(data.get("depth", 0)),
                   choices=[Action.from_dict(a) for a in data.get("choices") or []], links=data.get("links") or [],
                   final=bool(data.get("final")), visits=int(data.get("visits", 1)),
                   paraphrases=int(data.get("paraphrases", 0)), lowest_similarity=data.get("lowest_similarity"))


@dataclass
class Edge:
    """An action taken in a state (or at the start) and where it led; `target` is None when nothing came back."""

    source: str
    action: Action
    target: str | None
    status: str = "ok"  # ok | no_reply | send_error | unsupported | cut | unstable
    seconds: float | None = None
    error: str = ""
    expect: list[dict] = field(default_factory=list)  # its replies as a recording writes them (scenarios.expectation_for)

    @property
    def key(self) -> tuple:
        return (self.source, *self.action.key)

    def to_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "action": self.action.to_dict(), "status": self.status,
                "seconds": None if self.seconds is None else round(self.seconds, 3), "error": self.error,
                "expect": self.expect}

    @classmethod
    def from_dict(cls, data: dict) -> Edge:
        return cls(source=data["source"], action=Action.from_dict(data.get("action") or {}), target=data.get("target"),
                   status=data.get("status", "ok"), seconds=data.get("seconds"), error=data.get("error", ""),
                   expect=list(data.get("expect") or []))


@dataclass
class Finding:
    kind: str  # one of FINDING_KINDS
    message: str
    state: str | None = None
    edge: int | None = None  # index into the map's edges
    rule: str = ""  # lint: the rule id

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(kind=data.get("kind", ""), message=data.get("message", ""), state=data.get("state"),
                   edge=data.get("edge"), rule=data.get("rule", ""))


@dataclass
class CrawlMap:
    """Everything a crawl found; `map.json` is its to_dict()."""

    starts: list[str] = field(default_factory=list)
    target: str = ""
    limits: dict = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)
    status: str = "running"  # running | finished | stopped | failed
    message: str = ""  # why it stopped, or failed, in a sentence

    def find(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def out_edges(self, source: str) -> list[Edge]:
        return [e for e in self.edges if e.source == source]

    def to_dict(self) -> dict[str, Any]:
        return {"version": MAP_VERSION, "status": self.status, "message": self.message, "target": self.target,
                "starts": self.starts, "limits": self.limits, "channels": self.channels, "stats": self.stats,
                "states": [s.to_dict() for s in self.states.values()], "edges": [e.to_dict() for e in self.edges],
                "findings": [f.to_dict() for f in self.findings]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, default=str)

    @classmethod
    def from_dict(cls, data: dict) -> CrawlMap:
        if not isinstance(data, dict) or not isinstance(data.get("states"), list):
            raise ValueError("not a crawl map: expected an object with states, edges and findings (map.json)")
        states = [State.from_dict(s) for s in data["states"]]
        return cls(starts=list(data.get("starts") or []), target=data.get("target", ""),
                   limits=data.get("limits") or {}, states={s.id: s for s in states},
                   edges=[Edge.from_dict(e) for e in data.get("edges") or []],
                   findings=[Finding.from_dict(f) for f in data.get("findings") or []], stats=data.get("stats") or {},
                   channels=list(data.get("channels") or []), status=data.get("status", "finished"),
                   message=data.get("message", ""))


def load_map(source: str | bytes) -> CrawlMap:
    """A map from map.json's text (or bytes); ValueError with a clear reason when it is not one."""
    try:
        data = json.loads(source)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    try:
        return CrawlMap.from_dict(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a crawl map: {exc!r}") from None
