from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    name = "scorecards"
    verbose_name = "Scorecards"

    def ready(self) -> None:
        # Register the tasks in every process, not only in workers: a finished run sends
        # tasks by name, and inline (eager) mode can only run the ones it knows.
        from scorecards import tasks  # noqa: F401
        from scorecards.learning import tasks as learning_tasks  # noqa: F401
