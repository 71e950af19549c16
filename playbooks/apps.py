from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = "Playbooks and tasks"

    def ready(self) -> None:
        # Register the tasks in every process: beat sends the overdue sweep by name.
        from playbooks import tasks  # noqa: F401
