"""Typed settings read from the environment (prefix ``STEMMA_``).

Bad values are refused when the process starts, with a message that names the
variable, so a misconfigured server never comes half up. Every secret can also be
read from a file named by ``STEMMA_<NAME>_FILE`` (Docker and systemd credentials).
"""

from __future__ import annotations

import os
import re
import secrets
from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.outbox.vapid import load_private_key
from app.core.redis_url import check_redis_url

#: Settings whose value may come from a file named by ``STEMMA_<NAME>_FILE``.
FILE_SETTINGS = (
    "secret_key",
    "database_url",
    "redis_url",
    "smtp_password",
    "sms_api_password",
    "vapid_private_key",
)

SUPPORTED_LOCALES = ("sv", "da", "en")

# What SMS gateways accept as a sender: an alphanumeric name or a phone number.
SMS_SENDER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,10}$")
SMS_SENDER_NUMBER = re.compile(r"^\+[1-9][0-9]{6,14}$")


class SettingsError(Exception):
    """Raised with one readable line per bad setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEMMA_", extra="ignore", frozen=True)

    data_dir: Path = Path("var")
    database_url: str = ""
    #: PostgreSQL connections each process keeps open at most (requests beyond wait
    #: for one). A fixed set: connections opened for a burst and closed after it cost
    #: both sides more than the burst's queries (bench --only realtime, the kill).
    database_pool_size: int = Field(default=20, ge=2, le=500)
    #: Live fragments each process draws at once, each of another topic (a station's,
    #: the dashboard's); each holds one of the pool's connections while it reads (at
    #: most a quarter of the pool: the requests keep the rest).
    realtime_drawings_at_once: int = Field(default=4, ge=1, le=64)
    redis_url: str | None = None
    #: Put before every Redis channel name, so deployments (or test runs) sharing one
    #: Redis never hear each other's events.
    redis_channel_prefix: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    default_locale: Literal["sv", "da", "en"] = "sv"

    # Mail: unset host means mail is written to ``<data_dir>/outbox/mail``.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "Stemma <no-reply@stemma.invalid>"

    # SMS gateway (46elks-style); unset URL means SMS is written to the outbox folder.
    sms_api_url: str | None = None
    sms_api_username: str | None = None
    sms_api_password: str | None = None
    #: The sender shown on the phone: 3-11 letters and digits, or a number in E.164.
    sms_from: str = "Stemma"
    #: What one SMS part costs, in kronor: the estimate a dispatch shows before it sends.
    sms_price_per_part: Decimal = Field(default=Decimal("0.35"), ge=0, le=100)
    #: Messages a second the gateway is sent at most, by all workers together when
    #: they share Redis (``redis_url``), else by each.
    sms_rate: float = Field(default=50.0, gt=0, le=10000)
    #: Whether the gateway is given our delivery-report address (``whendelivered``):
    #: it must reach ``base_url`` for that.
    sms_delivery_reports: bool = True
    #: How much lower than the web processes' the CPU priority of ``stemma worker`` is
    #: (Unix niceness added, 0-19): a big send must not slow the pages people are on.
    worker_nice: int = Field(default=10, ge=0, le=19)

    # Web Push: unset key means one is generated once into ``<data_dir>/vapid_private.pem``.
    #: The VAPID private key (P-256), as PEM or as the 32 raw bytes in base64url.
    vapid_private_key: str | None = None
    #: Who push services may contact about our pushes: ``mailto:`` or ``https://``.
    #: Unset: ``mailto:`` the address of ``mail_from``.
    vapid_subject: str | None = None
    #: Accept ``http://`` push endpoints on loopback addresses. Only for tests, which run
    #: a push service on 127.0.0.1; production endpoints must be https:// on the internet.
    push_allow_loopback: bool = False

    session_idle_minutes: int = Field(default=8 * 60, ge=5, le=7 * 24 * 60)
    session_max_hours: int = Field(default=24, ge=1, le=30 * 24)
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    login_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_attempts_per_ip: int = Field(default=30, ge=1, le=100000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)

    #: Start even when the PostgreSQL role is a superuser, has BYPASSRLS or owns the
    #: tables (row-level security then does not apply). For development only.
    allow_privileged_database_role: bool = False

    #: Run the outbox worker inside the web process (the embedded default).
    run_worker_in_process: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        for name in FILE_SETTINGS:
            path = os.environ.get(f"STEMMA_{name.upper()}_FILE")
            if path and not values.get(name):
                try:
                    values[name] = Path(path).read_text(encoding="utf-8").strip()
                except OSError as error:
                    raise ValueError(
                        f"STEMMA_{name.upper()}_FILE: cannot read {path}: {error.strerror}"
                    ) from error
        return values

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        scheme = urlsplit(value).scheme
        if scheme in ("postgresql", "postgres"):
            return "postgresql+asyncpg" + value[len(scheme) :]
        if scheme not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
            raise ValueError(
                "must start with postgresql:// (or postgresql+asyncpg://) or sqlite+aiosqlite://"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        check_redis_url(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// address")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("sms_api_url")
    @classmethod
    def _check_sms_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// address")
        return value or None

    @field_validator("sms_from")
    @classmethod
    def _check_sms_from(cls, value: str) -> str:
        if SMS_SENDER_NAME.match(value) or SMS_SENDER_NUMBER.match(value):
            return value
        raise ValueError(
            "must be 3-11 letters and digits starting with a letter, or a number like +46701234567"
        )

    @field_validator("vapid_private_key")
    @classmethod
    def _check_vapid_private_key(cls, value: str | None) -> str | None:
        if not value:
            return None
        load_private_key(value)  # raises ValueError with a readable reason
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _check_vapid_subject(cls, value: str | None) -> str | None:
        if not value:
            return None
        if re.match(r"^mailto:[^@\s]+@[^@\s]+\.[^@\s]+$", value) or re.match(
            r"^https://[^/\s]+\.[^/\s]+", value
        ):
            return value
        raise ValueError("must be mailto:someone@example.org or an https:// address")

    @model_validator(mode="after")
    def _check_sms_credentials(self) -> Settings:
        if self.sms_api_url and not (self.sms_api_username and self.sms_api_password):
            raise ValueError(
                "STEMMA_SMS_API_USERNAME and STEMMA_SMS_API_PASSWORD: "
                "both are needed when STEMMA_SMS_API_URL is set"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def push_subject(self) -> str:
        """The ``sub`` claim of our VAPID tokens."""
        return self.vapid_subject or f"mailto:{parseaddr(self.mail_from)[1]}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, fill in the embedded defaults and prepare ``data_dir``.

    Raises SettingsError naming each bad variable.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    return _with_defaults(settings)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location = "".join(str(part) for part in problem["loc"][:1])
        name = f"STEMMA_{location.upper()}" if location else "settings"
        message = problem["msg"].removeprefix("Value error, ")
        if message.startswith("STEMMA_"):
            lines.append(message)
        else:
            lines.append(f"{name}: {message}")
    return "\n".join(lines)


def _with_defaults(settings: Settings) -> Settings:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    changes: dict[str, Any] = {"data_dir": data_dir}
    if not settings.database_url:
        changes["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'stemma.db'}"
    if not settings.secret_key:
        changes["secret_key"] = _development_secret_key(data_dir)
    return settings.model_copy(update=changes)


def _development_secret_key(data_dir: Path) -> str:
    """A key generated once and kept under the data directory, for the embedded default."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
