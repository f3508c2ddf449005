"""A simulated contact's LLM answers (apichat/simulate/simulator.py): kept so a re-run of an unchanged bot replays
exactly and asks the model nothing. The key is the simulator's hash of model, seed and the messages asked."""

from __future__ import annotations

from . import core
from .core import TEXT_CAP_CHARS, Core, storable


class SimulatorAnswers(Core):
    """The table simulator_answers."""

    def get_simulator_answer(self, key: str) -> str | None:
        row = self._row("SELECT answer FROM simulator_answers WHERE key = ?", (key,))
        return None if row is None else row["answer"]

    def save_simulator_answer(self, key: str, model: str, answer: str) -> None:
        """Keep an answer (the first one kept for a key stays)."""
        with self.write() as conn:
            conn.execute("INSERT INTO simulator_answers (key, model, answer, created_at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (key) DO NOTHING",
                         (key, storable(model), storable(answer[:TEXT_CAP_CHARS]), core.now()))

    def count_simulator_answers(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM simulator_answers").fetchone()[0]
