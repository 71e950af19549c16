"""Settings, read from the environment.

With nothing set, the app runs on an embedded default: SQLite, Celery tasks run inline, DEBUG on.
`DATABASE_URL` switches to PostgreSQL (or any database django-environ understands), `REDIS_URL`
to a Redis broker with real workers, and `HEALTHSCORE_ENV=production` to hardened settings that
need `SECRET_KEY` and `ALLOWED_HOSTS` from the environment.
"""

import os
from datetime import timedelta
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
    "django_prometheus",
    "health_check",
    "django_celery_beat",
    "axes",
    "accounts",
    "metrics",
    "scorecards",
    "risk",
    "playbooks",
    "front",
    "demo",
    "events",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "healthscore.middleware.request_cache_scope_middleware",
    "healthscore.api.api_body_limit_middleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "healthscore.middleware.session_lifetime_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
# The currency of every ARR figure (an ISO 4217 code, shown beside the amounts).
CURRENCY = env.str("CURRENCY", default="USD")
USE_I18N = True
USE_TZ = True

# The front door (README "Reliability"). django-axes locks a username after
# LOGIN_FAILURE_LIMIT wrong passwords in a row for LOGIN_LOCKOUT_MINUTES (the page says so,
# the log has a warning); front.views.home.login also throttles one client address to
# LOGIN_ATTEMPTS_PER_ADDRESS attempts per LOGIN_ATTEMPTS_WINDOW_SECONDS, whatever the username.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS: list[str] = []  # the log names the username and address
# The client address is REMOTE_ADDR: behind a proxy, name how many proxies add to
# X-Forwarded-For (LOGIN_PROXY_COUNT) so that a client cannot choose its own address.
AXES_IPWARE_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
# axes.W006 wants addresses locked by axes too, at the username's limit: one office behind a
# NAT would be locked out by five typos. Our address throttle (below) has its own limit.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
LOGIN_ATTEMPTS_PER_ADDRESS = env.int("LOGIN_ATTEMPTS_PER_ADDRESS", default=30)
LOGIN_ATTEMPTS_WINDOW_SECONDS = env.int("LOGIN_ATTEMPTS_WINDOW_SECONDS", default=900)

# Sessions end after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after the
# login whatever happens (healthscore.middleware.session_lifetime_middleware).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Read from the cache (Redis where configured), written through to the database: a request
# reads no session row, and a Redis restarted empty logs nobody out (the row is read again).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

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

# Content-Security-Policy on every response (django-csp): scripts, styles, fonts and data
# only from our own origin, no inline script, no framing. Style attributes stay allowed
# (band colours are set per row); htmx's own <style> is off (base.html's htmx-config).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The hash allows drf-spectacular's one <style> block of /api/docs/, exactly.
        "style-src": ["'self'", "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Outside production, whitenoise serves straight from the finders: no collectstatic needed.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="healthscore@localhost")

# Celery: a Redis broker when REDIS_URL is set, else tasks run inline in the calling process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Shared by every web process: API throttling counts per key across gunicorn workers, and the
# generations that make cached pages stale (healthscore/generations.py) must be seen by every
# process, so a server with several processes needs Redis here. CACHE_URL (default REDIS_URL)
# gives a Redis cache without a Celery broker (the benchmarks' inline tasks).
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
CACHES = {
    "default": (
        # Django's Redis cache, sharing one client per pool (healthscore/cache.py).
        {"BACKEND": "healthscore.cache.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
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

# Self-healing score runs (README "Reliability"). A pending or running run whose progress
# (a chunk done) stalls this long is resumed by the beat task below: its unfinished chunks are
# sent again. It must exceed the longest chunk (10,000 accounts: seconds, a minute at worst).
SCORE_RUN_STALL_SECONDS = env.int("SCORE_RUN_STALL_SECONDS", default=300)
SCORE_RUN_HEAL_EVERY_SECONDS = env.int("SCORE_RUN_HEAL_EVERY_SECONDS", default=60)
# Beat (django-celery-beat) adds this entry to its schedule when it starts.
CELERY_BEAT_SCHEDULE = {
    "Heal stalled score runs": {
        "task": "scorecards.tasks.score_runs_heal",
        "schedule": float(SCORE_RUN_HEAL_EVERY_SECONDS),
    }
}
# With acks_late, Redis gives a task whose worker died to another worker after this many
# seconds. It must exceed the longest task (a whole portfolio's risk evaluation: about 35 s
# per 100,000 accounts), or a slow task would run twice; Redis' own default is an hour. Score
# chunks do not wait for it: the stall healing resumes them after SCORE_RUN_STALL_SECONDS.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=900)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Connections a big read (an impact preview, a backtest) may use side by side, each on a core
# of PostgreSQL's.
READ_CONNECTIONS = env.int("READ_CONNECTIONS", default=min(4, os.cpu_count() or 1))

# Tasks sent with a run's id when a score run finishes: risks follow every recompute.
SCORE_RUN_FINISHED_TASKS: list[str] = ["risk.tasks.risks_evaluate_after_run"]
# Called (by dotted name, in the evaluation's transaction) with the ids of the risks an
# evaluation opened or whose severity rose: playbooks sits above risk and makes their tasks.
RISKS_RAISED_HOOKS: list[str] = ["playbooks.services.tasks_create_for_risks"]
# Called (by dotted name) with `account_ids`, once per change, after those accounts' contacts
# or touchpoints changed (one contact, or every account a bulk upsert touched) or one was
# rescored on request: accounts and scorecards sit below risk, which re-evaluates them.
ACCOUNT_CHANGED_HOOKS: list[str] = ["risk.services.risks_evaluate_for_account_ids"]
# Where people open the product: emails and outbound events link to account pages under it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# The largest API request body (README "Reliability"): a 10,000-row bulk write with short
# comments is about 1.5 MB. Larger bodies get a 413 in the API's error shape.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Outbound events (events/): how deliveries are sent and retried (links use SITE_URL above).
# Encrypts endpoint secrets at rest (Fernet); set its own value in production, so that
# rotating SECRET_KEY does not make the stored webhook secrets unreadable.
WEBHOOK_SECRET_KEY = env.str("WEBHOOK_SECRET_KEY", default=SECRET_KEY)
# Hosts production may send to although they resolve to private addresses.
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
WEBHOOK_RETRY_FOR_SECONDS = env.float("WEBHOOK_RETRY_FOR_SECONDS", default=86_400.0)
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=86_400.0)
WEBHOOK_ENDPOINT_CONCURRENCY = env.int("WEBHOOK_ENDPOINT_CONCURRENCY", default=20)
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=200)
# A sender's hold on an endpoint and its claimed deliveries; longer than a batch can take
# (WEBHOOK_BATCH_SIZE / WEBHOOK_ENDPOINT_CONCURRENCY requests of WEBHOOK_TIMEOUT_SECONDS).
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=300.0)
WEBHOOK_SENDER_BUDGET_SECONDS = env.float("WEBHOOK_SENDER_BUDGET_SECONDS", default=30.0)
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=60)
WEBHOOK_FAN_OUT_GRACE_SECONDS = env.float("WEBHOOK_FAN_OUT_GRACE_SECONDS", default=30.0)
# How long a nightly run's Slack and Teams digest waits for the run's risk evaluation.
WEBHOOK_DIGEST_DELAY_SECONDS = env.float("WEBHOOK_DIGEST_DELAY_SECONDS", default=60.0)

REST_FRAMEWORK = {
    # JSON only, as the schema says: the bodies are lists and nested documents, which a
    # form cannot carry (another content type is a 415).
    "DEFAULT_PARSER_CLASSES": ["healthscore.api.JsonBodyParser"],
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

# GET /metrics: Prometheus scrapes it with `Authorization: Bearer <METRICS_TOKEN>`. Without a
# token it is open in development and closed (404) in production: a scrape page names views,
# risk counts and run states, which are nobody's business outside the monitoring.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_PUBLIC = not IS_PRODUCTION and not METRICS_TOKEN

# /api/schema/ and /api/docs/ for anyone (development) or only after login / with an API key
# (production's default).
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=not IS_PRODUCTION)

SPECTACULAR_SETTINGS = {
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if API_DOCS_PUBLIC
        else "rest_framework.permissions.IsAuthenticated"
    ],
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
        "healthscore.api.schema_bulk_bodies_required",
        "healthscore.api.schema_query_empty_values",
        "healthscore.api.schema_request_strings",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# LOG_FORMAT=json writes one JSON object a line (time, level, logger, message and any
# `extra`), for log collectors; the default is plain text.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # django-axes says hello on every start.
        "axes.apps": {"level": "WARNING"},
        # Inline tasks would log a line per task in the web process and the commands.
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}

if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Compose's and load balancers' health probes speak plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
