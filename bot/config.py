"""One typed `Settings`: a TOML file plus environment variables, validated up front.

Precedence, highest first: environment variables, the TOML file, defaults. The
file is `--config`, else `$NEWSBOT_CONFIG`, else `./newsbot.toml` if present, else
the bundled `newsbot.example.toml`. Every adapter gets only its own part.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import ConfigError

#: The repository's own example, used when no config file is given or found.
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "newsbot.example.toml"

#: Environment variables and the setting each one sets (dotted path).
ENVIRONMENT: Mapping[str, str] = {
    "NEWSBOT_DATABASE_URL": "database_url",
    "NEWSBOT_LANGUAGE": "language",
    "NEWSBOT_ADMINS": "admins",
    "NEWSBOT_TELEGRAM_TOKEN": "telegram.token",
    "TELEGRAM_BOT_TOKEN": "telegram.token",
    "NEWSBOT_TELEGRAM_API_URL": "telegram.api_url",
    "NEWSBOT_DISCORD_TOKEN": "discord.token",
    "DISCORD_BOT_TOKEN": "discord.token",
    "NEWSBOT_DISCORD_API_URL": "discord.api_url",
    "NEWSBOT_DISCORD_GATEWAY_URL": "discord.gateway_url",
    "NEWSBOT_API_TOKEN": "api.token",
    "NEWSBOT_API_LISTEN": "api.listen",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSettings(_Section):
    """One `[[sources]]` entry: an HTTP feed (`url`) or a posts folder (`path`)."""

    name: str = Field(min_length=1, max_length=100)
    url: str | None = None
    path: Path | None = None
    #: Seconds between fetches.
    interval: float = Field(default=300.0, ge=1.0)
    #: Categories for entries that carry none.
    categories: tuple[str, ...] = ()
    #: Every post of this source is breaking news.
    breaking: bool = False
    timezone: str = "Asia/Seoul"
    #: On the first fetch, alert the N newest entries instead of none.
    backfill: int = Field(default=0, ge=0)
    #: Posts folders: the site the posts are published on, for their links.
    site_url: str | None = None
    #: Posts folders: Jekyll permalink template for posts without `permalink`/`url`.
    permalink: str = "/:categories/:year/:month/:day/:title:output_ext"
    timeout: float = Field(default=10.0, gt=0)
    max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _one_location(self) -> SourceSettings:
        if (self.url is None) == (self.path is None):
            raise ValueError(f"source {self.name!r}: give exactly one of url and path")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TelegramSettings(_Section):
    token: SecretStr | None = None
    #: Bot API base; the token is appended. Point it at a local Bot API server in tests.
    api_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8443"
    webhook_secret: SecretStr | None = None
    #: Paid broadcasts raise the overall ceiling from 30/s to 1000/s for alerts.
    allow_paid_broadcast: bool = False
    per_second: float = Field(default=30.0, gt=0)
    per_chat_per_second: float = Field(default=1.0, gt=0)
    per_group_per_minute: float = Field(default=20.0, gt=0)


class DiscordSettings(_Section):
    token: SecretStr | None = None
    #: REST base including `/api/v10`; unset in production.
    api_url: str | None = None
    #: Gateway websocket URL; unset in production.
    gateway_url: str | None = None
    #: Sync slash commands to this guild only (instant), instead of globally.
    guild_id: int | None = None
    #: Our own ceiling, below Discord's 50 requests/s.
    per_second: float = Field(default=40.0, gt=0, lt=50)


class ApiSettings(_Section):
    token: SecretStr | None = None
    listen: str = "127.0.0.1:8080"


class DeliverySettings(_Section):
    #: Rows claimed per round trip to the database.
    batch_size: int = Field(default=200, ge=1)
    #: Sends in flight at once, per process. It bounds the rate to this many per round
    #: trip: 1000/s with paid broadcasts over a 250 ms round trip (Seoul to the Bot API)
    #: needs 250 in flight. The pace, not this, sets the rate; the Telegram transport
    #: keeps as many connections open.
    concurrency: int = Field(default=256, ge=1)
    #: A claimed row is another process's to take once this lease runs out.
    lease_seconds: float = Field(default=30.0, gt=0)
    #: A row gives up after this long (never because of a 429).
    give_up_after_hours: float = Field(default=24.0, gt=0)
    #: A pending alert older than this is dropped as stale.
    stale_after_hours: float = Field(default=6.0, gt=0)
    stale_breaking_after_hours: float = Field(default=1.0, gt=0)
    #: With several processes on one database, one receives and sends; the others
    #: take over this long after it dies.
    receiver_lease_seconds: float = Field(default=15.0, gt=0)


class Settings(BaseSettings):
    """Everything newsbot reads from outside, validated before anything connects."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite+aiosqlite:///newsbot.db"
    #: The language of a new chat's replies, unless its platform says otherwise.
    language: Literal["ko", "en"] = "ko"
    #: `platform:user_id`, comma-separated in the environment.
    admins: tuple[str, ...] = ()
    sources: tuple[SourceSettings, ...] = ()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    api: ApiSettings = ApiSettings()
    delivery: DeliverySettings = DeliverySettings()
    #: Let sources reach loopback, private and link-local addresses (the SSRF guard's
    #: switch, `bot/netguard.py`): development and tests only.
    allow_private_sources: bool = False
    #: Where the config file was read from (relative `path`s are resolved against it).
    config_file: Path | None = None

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` merges file and environment itself, with the names above.
        return (init_settings,)


def find_config(explicit: Path | None, environ: Mapping[str, str]) -> Path:
    """The config file to read, by the precedence in this module's docstring."""
    if explicit is not None:
        return explicit
    if environ.get("NEWSBOT_CONFIG"):
        return Path(environ["NEWSBOT_CONFIG"])
    local = Path("newsbot.toml")
    return local if local.is_file() else EXAMPLE_CONFIG


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the settings; raises `ConfigError` with one line."""
    environ = os.environ if environ is None else environ
    config_file = find_config(path, environ)
    try:
        data = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {config_file}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {config_file} is not valid TOML: {exc}") from exc
    for name, dotted in ENVIRONMENT.items():
        if environ.get(name):
            _set_dotted(data, dotted, environ[name])
    _resolve_paths(data, config_file.resolve().parent)
    data["config_file"] = config_file
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"config {config_file}: {_first_error(exc)}") from exc


def _set_dotted(data: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for source in data.get("sources", ()):
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            source["path"] = str(base / source["path"])


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
