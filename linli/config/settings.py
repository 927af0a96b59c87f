"""Django settings for Linli. Every value comes from ``linli.config.env``; see docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from linli.config import env

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = env.is_production()
DATA_DIR = env.data_dir()
SECRETS = env.load_secrets()

SECRET_KEY = SECRETS.secret_key
DEBUG = env.env_bool("LINLI_DEBUG", default=False)
ALLOWED_HOSTS = env.env_list("LINLI_ALLOWED_HOSTS", ["*"] if not PRODUCTION else [])
CSRF_TRUSTED_ORIGINS = env.env_list("LINLI_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "linli.core",
    "linli.accounts",
    "linli.places",
    "linli.orgs",
    "linli.people",
    "linli.privacy",
    "linli.billing",
    "linli.workorders",
    "linli.patrols",
    "linli.notices",
    "linli.votes",
    "linli.messaging",
    "linli.devices",
    "linli.alarms",
    "linli.access",
    "linli.parking",
    "linli.adapters",
    "linli.console",
    "linli.h5",
    "linli.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "linli.core.middleware.ApiErrorEnvelopeMiddleware",  # outside CommonMiddleware: sees the final 404
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "linli.accounts.middleware.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "linli.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "linli.config.urls"
WSGI_APPLICATION = "linli.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linli.console.context.console",
                "linli.h5.context.h5",
                "linli.messaging.context.inbox",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'linli.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env.env_str("LINLI_DATABASE_URL", _default_db), conn_max_age=60)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers never deadlock on a read-then-write upgrade (matters for the audit hash chain).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if env.env_str("LINLI_TEST_DB_NAME", ""):
    # Lets parallel test runs on one PostgreSQL server use separate test databases.
    DATABASES["default"]["TEST"] = {"NAME": env.env_str("LINLI_TEST_DB_NAME", "")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Turns a signed-in user into an ``Actor`` (roles and scopes are memberships, in orgs); core.scoping
# calls it by name so the kernel imports no domain app.
ACTOR_RESOLVER = "linli.orgs.selectors.actor_for_user"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_PROFILE = env.env_str("LINLI_PASSWORD_PROFILE", "asvs")  # "asvs" or "dengbao" (R40)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "linli.accounts.passwords.ContextWordValidator"},
    # zxcvbn estimate with the user's context words; score 3 of 0–4 ≈ 10^8 guesses (R40).
    {
        "NAME": "linli.accounts.passwords.StrengthValidator",
        "OPTIONS": {"min_score": env.env_int("LINLI_PASSWORD_MIN_SCORE", 3)},
    },
    {"NAME": "linli.accounts.passwords.ProfileValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "console:home"

# Sessions (R42): absolute lifetime 12 h, idle timeout 15 min for staff (enforced by middleware).
SESSION_COOKIE_AGE = env.env_int("LINLI_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_IDLE_SECONDS = env.env_int("LINLI_SESSION_IDLE_SECONDS", 15 * 60)
# Staff accounts with no sign-in or API-token use for this many days are disabled by a daily job (R48).
DORMANT_ACCOUNT_DAYS = env.env_int("LINLI_DORMANT_ACCOUNT_DAYS", 90)
RESIDENT_SESSION_IDLE_SECONDS = env.env_int("LINLI_RESIDENT_SESSION_IDLE_SECONDS", 7 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env.env_bool("LINLI_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Reverse proxies whose client-address header is believed (R41 lockout per source, R49 audit address):
# only a request whose peer (REMOTE_ADDR) is in this list may name the client with X-Real-IP or
# X-Forwarded-For. Empty (the default): nobody is trusted and the peer address is the client.
TRUSTED_PROXIES = env.env_networks("LINLI_TRUSTED_PROXIES")

# Login lockout (R41): 5 failures within 15 min lock the account and the source for 15 min.
LOGIN_FAILURE_LIMIT = env.env_int("LINLI_LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env.env_int("LINLI_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
LOGIN_LOCKOUT_SECONDS = env.env_int("LINLI_LOGIN_LOCKOUT_SECONDS", 15 * 60)

# One-time codes for resident login, sent by a pluggable SMS sender (console by default).
SMS_BACKEND = env.env_str("LINLI_SMS_BACKEND", "linli.accounts.sms.ConsoleSmsSender")

# Messages to people (linli.messaging, ADR 0011). Every provider is off until its variables are set;
# pointing LINLI_SMS_BACKEND at a carrier sender without its keys stops the process at boot.
SMS_SIGN_NAME = env.env_str("LINLI_SMS_SIGN_NAME", "")
SMS_TEMPLATE = env.env_str("LINLI_SMS_TEMPLATE", "")  # carrier template id/code with one variable
SMS_TEMPLATE_PARAM = env.env_str("LINLI_SMS_TEMPLATE_PARAM", "content")  # that variable's name (Aliyun)
SMS_ALIYUN_ACCESS_KEY_ID = env.env_str("LINLI_SMS_ALIYUN_ACCESS_KEY_ID", "")
SMS_ALIYUN_ACCESS_KEY_SECRET = env.env_str("LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET", "")
SMS_ALIYUN_ENDPOINT = env.env_str("LINLI_SMS_ALIYUN_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
SMS_ALIYUN_REGION = env.env_str("LINLI_SMS_ALIYUN_REGION", "cn-hangzhou")
SMS_TENCENT_SECRET_ID = env.env_str("LINLI_SMS_TENCENT_SECRET_ID", "")
SMS_TENCENT_SECRET_KEY = env.env_str("LINLI_SMS_TENCENT_SECRET_KEY", "")
SMS_TENCENT_SDK_APP_ID = env.env_str("LINLI_SMS_TENCENT_SDK_APP_ID", "")
SMS_TENCENT_REGION = env.env_str("LINLI_SMS_TENCENT_REGION", "ap-guangzhou")
SMS_TENCENT_HOST = env.env_str("LINLI_SMS_TENCENT_HOST", "sms.tencentcloudapi.com")
_SMS_PROVIDER_VARS = {
    "AliyunSmsSender": ["LINLI_SMS_ALIYUN_ACCESS_KEY_ID", "LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET"],
    "TencentSmsSender": [
        "LINLI_SMS_TENCENT_SECRET_ID",
        "LINLI_SMS_TENCENT_SECRET_KEY",
        "LINLI_SMS_TENCENT_SDK_APP_ID",
    ],
}
for _cls, _names in _SMS_PROVIDER_VARS.items():
    if SMS_BACKEND.endswith(f".{_cls}"):
        env.env_required([*_names, "LINLI_SMS_SIGN_NAME", "LINLI_SMS_TEMPLATE"], because=f"{_cls}")
# WeChat subscription messages (订阅消息): off while LINLI_WECHAT_APP_ID is empty.
WECHAT_APP_ID = env.env_str("LINLI_WECHAT_APP_ID", "")
WECHAT_APP_SECRET = env.env_str("LINLI_WECHAT_APP_SECRET", "")
WECHAT_SUBSCRIBE_TEMPLATE_ID = env.env_str("LINLI_WECHAT_SUBSCRIBE_TEMPLATE_ID", "")
WECHAT_SUBSCRIBE_PAGE = env.env_str("LINLI_WECHAT_SUBSCRIBE_PAGE", "")
# Template keywords that receive the title, the body and the time, in that order.
WECHAT_SUBSCRIBE_FIELDS = env.env_list("LINLI_WECHAT_SUBSCRIBE_FIELDS", ["thing1", "thing2", "time3"])
WECHAT_MINIPROGRAM_STATE = env.env_str("LINLI_WECHAT_MINIPROGRAM_STATE", "formal")
WECHAT_API_BASE = env.env_str("LINLI_WECHAT_API_BASE", "https://api.weixin.qq.com")
if WECHAT_APP_ID:
    env.env_required(
        ["LINLI_WECHAT_APP_SECRET", "LINLI_WECHAT_SUBSCRIBE_TEMPLATE_ID"], because="LINLI_WECHAT_APP_ID"
    )
MESSAGING_HTTP_TIMEOUT = env.env_int("LINLI_MESSAGING_HTTP_TIMEOUT", 10)  # seconds per provider call
MESSAGING_MAX_ATTEMPTS = env.env_int("LINLI_MESSAGING_MAX_ATTEMPTS", 5)  # then the delivery is failed
OTP_TTL_SECONDS = env.env_int("LINLI_OTP_TTL_SECONDS", 300)
OTP_MAX_PER_HOUR = env.env_int("LINLI_OTP_MAX_PER_HOUR", 5)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.env_str("LINLI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = False

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_BYTES = env.env_int("LINLI_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_ROWS = env.env_int("LINLI_IMPORT_MAX_ROWS", 20000)
# Largest uncompressed part (sheet XML, shared strings) of an XLSX import; checked before parsing.
IMPORT_MAX_PART_BYTES = env.env_int("LINLI_IMPORT_MAX_PART_BYTES", 64 * 1024 * 1024)

API_MAX_PAGE_SIZE = 100

# Background work (bill runs, SLA checks, reminders): django-tasks with its database backend, drained by
# `linli worker` (the demo runs one). LINLI_TASKS_BACKEND=immediate runs tasks inline (tests).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }[env.env_str("LINLI_TASKS_BACKEND", "database")],
        "ENQUEUE_ON_COMMIT": True,
    }
}

# Uploaded photos (repairs, patrol findings): size and pixel caps (R71).
UPLOAD_IMAGE_MAX_BYTES = env.env_int("LINLI_UPLOAD_IMAGE_MAX_BYTES", 5 * 1024 * 1024)
UPLOAD_IMAGE_MAX_PIXELS = env.env_int("LINLI_UPLOAD_IMAGE_MAX_PIXELS", 24_000_000)

# Payments: the simulated provider signs its callbacks with this key (demo and tests).
PAYMENT_PROVIDER = env.env_str("LINLI_PAYMENT_PROVIDER", "simulated")

# Alarm webhooks may target private and loopback addresses only when this is set (tests, closed
# networks); link-local addresses never.
WEBHOOK_ALLOW_PRIVATE = env.env_bool("LINLI_WEBHOOK_ALLOW_PRIVATE", default=False)

# `linli web` (gunicorn): listen addresses, worker processes, threads per worker.
WEB_BIND = env.env_list("LINLI_BIND", ["127.0.0.1:8000"])
WEB_WORKERS = env.env_int("LINLI_WORKERS", 2)
WEB_THREADS = env.env_int("LINLI_THREADS", 4)

# `linli demo`: size of the generated estate (1 the full demo, 0.05 a tiny one for tests) and seed.
DEMO_SCALE = env.env_float("LINLI_DEMO_SCALE", 1.0, above=0, at_most=4)
DEMO_SEED = env.env_int("LINLI_DEMO_SEED", 20240501)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

LINLI_LABELS = {"product": _("邻里智慧社区")}
