"""Settings for the compose-roll demo app: one module, no database, no templates, no static files.

Everything that varies per container comes from the environment (see ../Dockerfile).
"""
import os

# A fixed key is fine: the app signs nothing (no sessions, no CSRF-protected forms).
SECRET_KEY = "compose-roll-demo-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]  # reached as 127.0.0.1, as the container IP and through Traefik

INSTALLED_APPS = []  # no models, no admin, no auth
MIDDLEWARE = [
    # Redirects /health -> /health/ (APPEND_SLASH), like a typical Django project.
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"
DATABASES = {}  # nothing to connect to, so a container starts without any dependency

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
