"""The baseline of bench/load.py: plain Locust HTTP users posting a contact's text to the sandbox's bot_url.

No correlation, no store: what Locust alone costs per message. Loaded by Locust (`locust -f bench/load_http.py`)
with BENCH_BOT_URL, BENCH_FLOW_KEY and BENCH_RATE (messages per second per user) in the environment.
"""

from __future__ import annotations

import itertools
import os
import secrets

from locust import HttpUser, constant_throughput, task

from apichat import payloads

_numbers = itertools.count(1)


class BotUrlUser(HttpUser):
    host = os.environ.get("BENCH_BOT_URL", "http://127.0.0.1")
    wait_time = constant_throughput(float(os.environ.get("BENCH_RATE", "1")))

    def on_start(self) -> None:
        self.contact = {"id": f"http-{secrets.token_hex(3)}-{next(_numbers)}", "name": "Bench", "email": "",
                        "phone_number": ""}
        self.headers = {"Authorization": f"Bearer {os.environ.get('BENCH_FLOW_KEY', '')}"}

    @task
    def send(self) -> None:
        body = payloads.text_payload(self.contact, 100_000_000 + secrets.randbelow(900_000_000), "unknown words")
        self.client.post("", json=body, headers=self.headers, name="bot_url")
