import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthscore.settings")

application = get_wsgi_application()

# Pay the first request's imports and template compilation now, before any traffic (in
# gunicorn's master when preloading, so that every worker forks warm).
if os.environ.get("HEALTHSCORE_WARMUP", "1") != "0":
    from healthscore.warmup import app_warm

    app_warm()
