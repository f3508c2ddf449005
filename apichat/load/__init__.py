"""Load tests on Locust: many contacts at once running scenario files, with the latency of every step.

    options    what a run may do, checked before it starts (durations, think time, safety, the store's reach)
    stats      Locust's CSV files read back (stats, history, failures, settle) for the console and the bench
    feed       (gevent) the dispatcher that hands replies to waiting contacts, and the threaded store
    user       (Locust) the user: one contact running scenarios in a loop; each step a Locust request
    __main__   `python -m apichat.load run|ui …`

Only `options` and `stats` are imported here: importing Locust monkey-patches the standard library for
gevent, which must happen in Locust's own processes, never in the console's.
"""

from .options import SAFE_USERS, LoadError, UserConfig, check_safety, misrouted, store_is_shared, think_range

__all__ = ["SAFE_USERS", "LoadError", "UserConfig", "check_safety", "misrouted", "store_is_shared", "think_range"]
