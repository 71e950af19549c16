from django.apps import AppConfig


class FrontConfig(AppConfig):
    """Every server-rendered page: views, forms, read-models and templates/front/."""

    name = "front"

    def ready(self) -> None:
        # The pages' cached read-models (front/cache.py) and the API's ETags are keyed by
        # generations that writes bump; saves and deletes bump through signals.
        from healthscore.generations import generations_connect

        generations_connect()
