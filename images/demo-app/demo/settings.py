"""Settings for the compose-roll demo app: one module, no templates, no static files.

Everything that varies per container comes from the environment (see ../Dockerfile). The database
is optional: without POSTGRES_HOST there is none, and only /visits/ needs one.
"""
import os

# A fixed key is fine: the app signs nothing (no sessions, no CSRF-protected forms).
SECRET_KEY = "compose-roll-demo-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]  # reached as 127.0.0.1, as the container IP and through Traefik

# visits: the table the releases migrate; jobs: the Celery tasks' record. No admin, no auth, no contenttypes.
INSTALLED_APPS = ["visits", "jobs"]
MIDDLEWARE = [
    # Redirects /health -> /health/ (APPEND_SLASH), like a typical Django project.
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

# Nothing connects at import time, so a container boots (and is healthy) with no database at all,
# and gunicorn's preloading master never holds a connection its forked workers would share.
DATABASE_CONFIGURED = bool(os.environ.get("POSTGRES_HOST"))
DATABASES = {}
if DATABASE_CONFIGURED:
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["POSTGRES_HOST"],
        "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        "NAME": os.environ.get("POSTGRES_DB", "demo"),
        "USER": os.environ.get("POSTGRES_USER", "demo"),
        "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
        # Each gunicorn thread keeps its connection this long: no connect per request, yet
        # connections of a replica being drained go away soon after its last request.
        "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
        # A request to an unreachable database fails in seconds, not at the kernel's TCP timeout.
        "OPTIONS": {"connect_timeout": 3},
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# Django logs errors to stderr (the container log); gunicorn logs the rest.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
