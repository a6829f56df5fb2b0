"""Settings of the simulated Alation. Host-specific data lives in the site dir."""
import json
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE_DIR = os.environ.get("ALATION_SITE_DIR", "/opt/alation/site")


def _host():
    try:
        with open(os.path.join(SITE_DIR, "host.json")) as f:
            return json.load(f)
    except (IOError, OSError):
        return {"address": "127.0.0.1", "port": 8443}


HOST = _host()

# Random per process is fine: no sessions or signed cookies are used.
SECRET_KEY = os.urandom(32).hex()
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "rosemeta",  # first: its `shell` command replaces Django's
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_scim",
]
MIDDLEWARE = [
    "rosemeta.middleware.ScimBearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]
ROOT_URLCONF = "alation_site.urls"
WSGI_APPLICATION = "alation_site.wsgi.application"


def _database():
    """SQLite in the site dir, or what site/database.json says (the HA pair's PostgreSQL, tests/testbed/ha_pair.py)."""
    try:
        with open(os.path.join(SITE_DIR, "database.json")) as f:
            database = json.load(f)
    except (IOError, OSError):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(SITE_DIR, "db.sqlite3"),
                "OPTIONS": {"timeout": 30}}
    database.setdefault("OPTIONS", {"connect_timeout": 5})  # a stopped cluster fails fast
    return database


DATABASES = {"default": _database()}
AUTH_USER_MODEL = "rosemeta.User"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

SCIM_SERVICE_PROVIDER = {
    "NETLOC": "%s:%s" % (HOST["address"], HOST["port"]),
    "SCHEME": "https",
    "GROUP_MODEL": "rosemeta.models.Group",
    # django-scim2 extended for what IdPs send and clients check (rosemeta/scim/)
    "USER_ADAPTER": "rosemeta.scim.adapters.User",
    "GROUP_ADAPTER": "rosemeta.scim.adapters.Group",
    "USER_FILTER_PARSER": "rosemeta.scim.filters.UserFilterQuery",
    "GROUP_FILTER_PARSER": "rosemeta.scim.filters.GroupFilterQuery",
    "SERVICE_PROVIDER_CONFIG_MODEL": "rosemeta.scim.adapters.ServiceProviderConfig",
    "SCHEMAS_GETTER": "rosemeta.scim.schemas.published",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "SCIM bearer token (Admin Settings > Authentication > SCIM Token)",
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="alation-scim"',
}

LOG_DIR = os.path.join(SITE_DIR, "logs")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "file": {
            "class": "logging.FileHandler",
            "filename": os.path.join(LOG_DIR, "django.log"),
            "formatter": "plain",
            "delay": True,
        }
    },
    "root": {"handlers": ["file"], "level": "INFO"},
    # django-scim2 logs request and response bodies at DEBUG; INFO keeps the log sane.
    "loggers": {"django_scim": {"level": "INFO"}},
}
