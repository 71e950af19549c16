from django.apps import AppConfig


class FrontConfig(AppConfig):
    """Every server-rendered page: views, forms, read-models and templates/front/."""

    name = "front"
