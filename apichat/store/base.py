"""`Store`: every table's methods over the core, for either backend (`open_store` picks one)."""

from __future__ import annotations

from .answers import SimulatorAnswers
from .deliveries import Deliveries
from .monitors import Monitors
from .profiles import Profiles
from .retention import Retention
from .runs import ScenarioRuns
from .verdicts import Verdicts


class Store(Profiles, Deliveries, ScenarioRuns, Verdicts, Monitors, SimulatorAnswers, Retention):
    """The console's store; `SQLiteStore` (sqlite.py) or `PostgresStore` (postgres.py), opened by `open_store`."""

    path: str

    @property
    def label(self) -> str:
        """Where this store is, as it may be shown or logged (a database URL's password masked)."""
        return self.path

    @property
    def schema_version(self) -> int:
        raise NotImplementedError

    def ping(self) -> bool:
        """True when the store answers a read; StoreUnavailable otherwise."""
        raise NotImplementedError

    def integrity_check(self) -> str:
        """'ok', or what is wrong."""
        raise NotImplementedError

    def _after_copy(self, conn, table: str) -> None:
        """After rows were copied into `table`, a table with ids, keeping their ids (copy.py)."""
