"""The sandbox's memory of which webhook each workspace has: a small JSON file, written atomically.

The sandbox stands in for UChat, outside the product, so it never touches the console's SQLite
store. A bot_url code and a flow ns are derived from the workspace id, so both stay the same
across restarts without being stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time

log = logging.getLogger("sandbox")
EMPTY_WEBHOOK = {"webhook_url": "", "webhook_verification_key": "", "webhook_status": "", "bot_url": ""}


def bot_code(workspace_id: str) -> str:
    """The unique code in a workspace's bot_url (stable: derived from the workspace id)."""
    return "sbx" + hashlib.sha256(f"workspace:{workspace_id}".encode()).hexdigest()[:16]


def flow_ns(workspace_id: str) -> str:
    """The `x-flow-ns` header of a workspace's bot, shaped like UChat's ("f" and digits)."""
    number = int(hashlib.sha256(f"flow:{workspace_id}".encode()).hexdigest()[:8], 16)
    return f"f{number % 900000 + 100000}"


class SandboxState:
    """Webhooks by workspace id, kept in `path` (rewritten whole on every change)."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._workspaces: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            workspaces = data["workspaces"]
            if not isinstance(workspaces, dict):
                raise ValueError("'workspaces' is not an object")
            return {str(k): dict(v) for k, v in workspaces.items() if isinstance(v, dict)}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A broken file must not keep the sandbox from starting; keep it aside for a person to look at.
            aside = f"{self.path}.corrupt-{int(time.time())}"
            os.replace(self.path, aside)
            log.warning("state file %s is unreadable (%s); moved it to %s and started empty", self.path, exc, aside)
            return {}

    def _save(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "workspaces": self._workspaces}, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)  # readers see the old file or the new one, never half of one
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, workspace_id: str) -> dict | None:
        """The webhook set for `workspace_id` (a copy), or None."""
        with self._lock:
            found = self._workspaces.get(workspace_id)
            return dict(found) if found else None

    def set_webhook(self, workspace_id: str, webhook_url: str, key: str) -> dict:
        with self._lock:
            self._workspaces[workspace_id] = {
                "webhook_url": webhook_url,
                "webhook_verification_key": key,
                "webhook_status": "verified",
                "updated_at": time.time(),
            }
            self._save()
            return dict(self._workspaces[workspace_id])

    def remove_webhook(self, workspace_id: str) -> bool:
        with self._lock:
            removed = self._workspaces.pop(workspace_id, None) is not None
            if removed:
                self._save()
            return removed

    def by_code(self, code: str) -> tuple[str, dict] | None:
        """(workspace id, webhook) whose bot_url code is `code`, or None."""
        with self._lock:
            for workspace_id, hook in self._workspaces.items():
                if bot_code(workspace_id) == code:
                    return workspace_id, dict(hook)
        return None

    def all(self) -> dict[str, dict]:
        with self._lock:
            return {k: dict(v) for k, v in self._workspaces.items()}
