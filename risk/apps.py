from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = "Risks"

    def ready(self) -> None:
        # Register the tasks in every process: score runs send risk evaluation by name.
        from risk import tasks  # noqa: F401
