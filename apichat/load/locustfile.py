"""The locustfile Locust loads (`locust -f apichat/load/locustfile.py`): the scenario users, configured by
APICHAT_LOAD_CONFIG (see apichat.load.options.UserConfig); `python -m apichat.load` writes it."""

from apichat.load.user import ScenarioUser

__all__ = ["ScenarioUser"]
