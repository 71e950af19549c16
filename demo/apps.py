from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo portfolio generator behind `manage.py seed_demo`; no production code imports it."""

    name = "demo"
