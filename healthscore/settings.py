"""Settings, read from the environment.

With nothing set, the app runs on an embedded default: SQLite, Celery tasks run inline, DEBUG on.
`DATABASE_URL` switches to PostgreSQL (or any database django-environ understands), `REDIS_URL`
to a Redis broker with real workers, and `HEALTHSCORE_ENV=production` to hardened settings that
need `SECRET_KEY` and `ALLOWED_HOSTS` from the environment.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

IS_PRODUCTION = env.str("HEALTHSCORE_ENV", default="development") == "production"

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
if IS_PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    # A development key only: production refuses to start without SECRET_KEY.
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-not-for-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "accounts",
    "scorecards",
    "risk",
    "playbooks",
    "front",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "healthscore.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "healthscore.wsgi.application"

# SQLite unless DATABASE_URL says otherwise; tests on PostgreSQL set it (see .ci/run).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Inline Celery tasks and the dev server write concurrently; wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# htmx and Chart.js come from the npm packages that the setup installs (package.json), served
# as our own static files: no page loads anything from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Outside production, whitenoise serves straight from the finders: no collectstatic needed.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="healthscore@localhost")

# Celery: a Redis broker when REDIS_URL is set, else tasks run inline in the calling process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Shared by every web process (API throttling counts per key across gunicorn workers).
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Task modules that autodiscovery (which looks for tasks.py) does not find.
CELERY_IMPORTS = ["scorecards.learning.tasks"]

# Connections a big read (an impact preview, a backtest) may use side by side, each on a core
# of PostgreSQL's.
READ_CONNECTIONS = env.int("READ_CONNECTIONS", default=min(4, os.cpu_count() or 1))

# Tasks sent with a run's id when a score run finishes: risks follow every recompute.
SCORE_RUN_FINISHED_TASKS: list[str] = ["risk.tasks.risks_evaluate_after_run"]
# Called (by dotted name, in the evaluation's transaction) with the ids of the risks an
# evaluation opened or whose severity rose: playbooks sits above risk and makes their tasks.
RISKS_RAISED_HOOKS: list[str] = ["playbooks.services.tasks_create_for_risks"]
# Called (by dotted name) with an account's id after its contacts or touchpoints changed or it
# was rescored on request: accounts and scorecards sit below risk, which re-evaluates it.
ACCOUNT_CHANGED_HOOKS: list[str] = ["risk.services.risks_evaluate_for_account_id"]
# Where people open the product: emails link to account pages under it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

REST_FRAMEWORK = {
    # The key first: its WWW-Authenticate header makes an anonymous request a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "healthscore.api.HasRolePermission",
        "healthscore.api.ApiKeyScope",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "healthscore.api.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "healthscore.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["healthscore.api.PerKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_RATE", default="1200/minute")},
    # Numbers as JSON numbers (50000.0), not strings.
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# /api/docs/ serves Swagger UI from our own static files (the sidecar app), not from a CDN.
INSTALLED_APPS += ["drf_spectacular_sidecar"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Healthscore API",
    "DESCRIPTION": (
        "Customer health scores, measure values and risks for integrations. Authenticate "
        "with a session or an API key (`Authorization: Bearer hs_…`, made in the admin). "
        'Every error is `{"message", "code", "fields"}`; bulk writes add `"rows"`, '
        "one entry per bad row, and write nothing when any row is bad."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "risk.choices.Severity",
        "AccountStatusEnum": "accounts.models.Account.Status",
        "RiskStatusEnum": "risk.choices.RiskStatus",
        "ScoreRunStatusEnum": "scorecards.models.ScoreRun.Status",
        "MeasureKindEnum": "scorecards.choices.MeasureKind",
        "TouchpointKindEnum": "accounts.models.Touchpoint.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "healthscore.api.schema_add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Inline tasks would log a line per task in the web process and the commands.
    "loggers": {"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {},
}

if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
