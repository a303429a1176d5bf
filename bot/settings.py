"""Settings from the environment and ``.env``, built once by the CLI and passed down.

Names follow the two seed Workers where they overlap (``CF_API_TOKEN_N``/``ACCOUNT_N``, ``CF_ACCOUNT_ID``/
``CF_API_TOKEN``, ``FLUX_MODEL``, ``FLUX_NUM_STEPS``, ``PROMPT_OPTIMIZATION``, ``EXTERNAL_*``) so people can move over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError

DEFAULT_CF_API_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_FLUX_MODEL = "@cf/black-forest-labs/flux-2-klein-4b"

#: what the derived webhook secret is an HMAC of (keyed with the bot token); changing it changes every secret
_WEBHOOK_SECRET_LABEL = b"imagine-bot telegram webhook secret v1"

_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NUMBERED_TOKEN = re.compile(r"^CF_API_TOKEN_(\d+)$")


@dataclass(frozen=True)
class AccountConfig:
    """One Cloudflare account. ``index`` is the N of ``CF_API_TOKEN_N`` (0 for ``CF_ACCOUNT_ID``/``CF_API_TOKEN``)."""

    index: int
    account_id: str
    token: str

    @property
    def key(self) -> str:
        """Identity of the account in the database: stable across reordering of the N's."""
        return self.account_id

    @property
    def label(self) -> str:
        """Safe to print: index and the account id's last four characters."""
        return f"#{self.index} …{self.account_id[-4:]}"

    def __repr__(self) -> str:  # never print the token, even in a debugger or a traceback
        return f"AccountConfig(index={self.index}, account_id='…{self.account_id[-4:]}', token=***)"


CommaList = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


CommaPairs = Annotated[dict[str, str], NoDecode]
CommaCounts = Annotated[dict[str, int], NoDecode]


def _split_pairs(value: object) -> object:
    """``"klein=@cf/x/flux-2-klein-4b, @cf/x/flux-2-dev"`` → ``{"klein": ..., "flux-2-dev": ...}``."""
    if not isinstance(value, str):
        return value
    pairs: dict[str, str] = {}
    for part in (item.strip() for item in value.replace(";", ",").split(",") if item.strip()):
        name, sep, target = (item.strip() for item in part.partition("="))
        if not sep:  # a bare model id: its last part is its name
            name, target = name.rsplit("/", 1)[-1], name
        if not name or not target:
            raise ValueError(f"{part!r} is not name=value")
        pairs[name] = target
    return pairs


class Settings(BaseSettings):
    """Every setting. Field ``foo_bar`` is the environment variable ``FOO_BAR``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # --- Cloudflare Workers AI -------------------------------------------------------------------
    accounts: list[AccountConfig] = Field(default_factory=list, exclude=True)
    cf_api_base_url: str = DEFAULT_CF_API_BASE_URL
    flux_model: str = DEFAULT_FLUX_MODEL
    flux_num_steps: int | None = Field(default=None, ge=1, le=50)
    flux_reference_model: str = DEFAULT_FLUX_MODEL
    image_megapixels: float = Field(default=1.0, gt=0.05, le=4.0)
    account_strategy: Literal["fill-first", "round-robin"] = "fill-first"
    capacity_cooldown_seconds: float = Field(default=30.0, ge=0)
    max_transient_attempts: int = Field(default=3, ge=1, le=20)
    http_timeout_seconds: float = Field(default=60.0, gt=0)
    http_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    generation_deadline_seconds: float = Field(default=180.0, gt=0)
    proxy_url: str | None = None

    # --- Users and limits ------------------------------------------------------------------------
    rate_limit_per_minute: int = Field(default=3, ge=0)
    rate_limit_per_day: int = Field(default=20, ge=0)
    admin_ids: CommaList = Field(default_factory=list)
    allowed_ids: CommaList = Field(default_factory=list)
    max_jobs_per_user: int = Field(default=1, ge=1)
    max_queued_per_user: int = Field(default=3, ge=0)
    max_concurrent_generations: int = Field(default=200, ge=1)
    #: a request waiting in its user's line re-checks its place this often even if no wake-up reached it
    queue_poll_seconds: float = Field(default=5.0, gt=0)
    max_reference_mb: float = Field(default=10.0, gt=0)
    #: memory all reference decodes may hold at once; a file needing more than this alone is refused
    reference_decode_memory_mb: float = Field(default=128.0, ge=16)

    # --- Model and count per request (chat UX) ---------------------------------------------------
    #: models users may pick with --model / Discord's model option: alias=model id, comma separated
    flux_models: CommaPairs = Field(default_factory=dict)
    #: bot-wide images per UTC day for a model (alias or id), e.g. dev=5; 0 or absent: no cap
    model_daily_limits: CommaCounts = Field(default_factory=dict)
    #: the most images one request may ask for with --n
    max_images_per_request: int = Field(default=4, ge=1, le=10)

    # --- Storage and logs ------------------------------------------------------------------------
    database_path: Path = Path("data/imagine-bot.sqlite3")
    #: ``postgresql://user:password@host:5432/db`` selects PostgreSQL (several replicas); unset keeps SQLite
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    #: how long other requests wait for the first call on an account whose state is unknown before going ahead
    account_probe_patience_seconds: float = Field(default=2.0, ge=0, le=120)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- Telegram --------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    #: webhook mode: Telegram POSTs updates to this URL, served by the HTTP server (one port for everything)
    telegram_webhook_url: str | None = None
    #: unset: derived from the bot token, so every replica agrees without configuration
    telegram_webhook_secret: SecretStr | None = None
    #: deprecated (the webhook is on the HTTP server): only the defaults of HTTP_HOST / HTTP_PORT and PORT
    telegram_webhook_listen: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    #: a webhook call is answered once its update is recorded, or after this long anyway (a slow handler)
    telegram_webhook_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    #: albums arrive as one update per photo; wait this long after the last one before generating
    telegram_album_wait_seconds: float = Field(default=1.5, gt=0, le=30)
    #: until then a request shows only "sending a photo…"; later (or waiting in line) a status line with ❌
    telegram_status_after_seconds: float = Field(default=4.5, ge=0, le=60)

    # --- Discord ---------------------------------------------------------------------------------
    discord_bot_token: SecretStr | None = None
    discord_guild_ids: CommaList = Field(default_factory=list)
    #: a running image's "thinking" reply gets its status line and ❌ after this long (waiting in line: at once)
    discord_cancel_after_seconds: float = Field(default=4.5, ge=0, le=60)
    #: sharding (Discord requires it past 2,500 servers): the total, and the shards this replica runs (default all)
    discord_shard_count: int | None = Field(default=None, ge=1)
    discord_shard_ids: CommaList = Field(default_factory=list)

    # --- Prompt optimisation ---------------------------------------------------------------------
    prompt_optimization: bool = False
    external_api_base: str | None = None
    external_model: str | None = None
    external_api_key: SecretStr | None = None
    prompt_optimization_timeout_seconds: float = Field(default=15.0, gt=0)
    prompt_optimization_cf_model: str = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

    # --- Failover edges and failed attempts ------------------------------------------------------
    #: a "spent" answer this soon after 00:00 UTC is re-checked at growing intervals, not taken for a whole day
    midnight_grace_minutes: float = Field(default=15.0, ge=0, le=720)
    #: a misconfigured account gets one trial call this often (half-open)
    misconfigured_recheck_minutes: float = Field(default=15.0, gt=0)
    #: failed generations one user may cause per minute (they are refunded from the limits); 0 = no budget
    failed_attempts_per_minute: int = Field(default=3, ge=0)

    # --- HTTP API (bot/adapters/http) -----------------------------------------------------------
    #: the HTTP side starts when an API key is configured or HTTP_PORT (or the PaaS's PORT) is set
    http_port: int | None = Field(default=None, ge=0, le=65535)
    port: int | None = Field(default=None, ge=0, le=65535)
    http_host: str = "0.0.0.0"
    #: ``name=key`` pairs or bare keys, comma-separated; each key is the core user ``api:<name>``
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: the seeds' single keys (Flux-API-Worker, cf-flux2): one more key each, users ``api:api_key``, ``api:master``
    api_key: SecretStr | None = None
    api_master_key: SecretStr | None = None
    public_base_url: str | None = None
    #: origins allowed to call the API routes from a browser; ``*`` (default) any, empty: CORS off
    cors_origins: CommaList = Field(default_factory=lambda: ["*"])
    #: how long ``GET /image/{id}`` serves a result (seconds), and the store's total size cap
    image_expiration: int = Field(default=7 * 24 * 3600, ge=60)
    image_store_mb: float = Field(default=1024.0, gt=0)

    # --- Requests survive a dead replica (bot/core/requests.py) -----------------------------------
    #: this process's name in the accepted_requests table (a token of each start is added); default hostname-pid
    replica_id: str | None = None
    #: a replica that has not renewed its requests' lease for this long is taken for dead: another one takes over
    request_lease_seconds: float = Field(default=30.0, ge=0.3, le=3600)
    #: a request taken over more often than this ends with a message and a refund instead of running again
    request_max_takeovers: int = Field(default=2, ge=0, le=20)

    _split = field_validator("admin_ids", "allowed_ids", "discord_guild_ids", "cors_origins", mode="before")(
        _split_commas
    )
    _pairs = field_validator("flux_models", "model_daily_limits", mode="before")(_split_pairs)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("public_base_url", mode="before")
    @classmethod
    def _base_url(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            if value and not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
            return value or None
        return value

    @field_validator("discord_guild_ids")
    @classmethod
    def _guild_ids_are_numbers(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.isdigit():
                raise ValueError(f"{item!r} is not a numeric guild id")
        return value

    @field_validator("cf_api_base_url", "telegram_api_base_url", "telegram_file_base_url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids_fit_the_count(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if any(not item.isdigit() for item in value):
            raise ValueError("must be shard numbers, e.g. 0,1")
        count = info.data.get("discord_shard_count")
        if value and count is None:
            raise ValueError("needs DISCORD_SHARD_COUNT")
        if any(int(item) >= (count or 0) for item in value):
            raise ValueError(f"every shard number must be below DISCORD_SHARD_COUNT ({count})")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _is_postgres_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str) and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (unset it to use SQLite at DATABASE_PATH)")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; checked here so a bad one is named at start, not by setWebhook
        if (
            value is not None
            and value.get_secret_value()
            and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value())
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("proxy_url", "external_api_base", "telegram_webhook_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- Derived views ---------------------------------------------------------------------------
    @property
    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        values = [account.token for account in self.accounts]
        for secret in (
            self.telegram_bot_token,
            self.discord_bot_token,
            self.external_api_key,
            self.api_key,
            self.api_master_key,
        ):
            if secret is not None:
                values.append(secret.get_secret_value())
        values += self.api_credentials.values()
        if self.telegram_bot_token is not None:
            values.append(self.telegram_webhook_secret_token)  # the configured one, or the derived one
        if self.database_url is not None:
            password = urlsplit(self.database_url.get_secret_value()).password
            values.append(password or "")
        # A key written into a URL as user:key@host (an LLM gateway, a proxy) is a secret like any other.
        for url in (self.external_api_base, self.proxy_url):
            values += _userinfo_secrets(url)
        return [value for value in values if value]

    @property
    def database_label(self) -> str:
        """Which database, safe to print: the SQLite path, or PostgreSQL's host, port and name (no password)."""
        if self.database_url is None:
            return f"SQLite {self.database_path}"
        url = urlsplit(self.database_url.get_secret_value())
        return f"PostgreSQL {url.hostname or 'localhost'}:{url.port or 5432}{url.path}"

    @property
    def api_credentials(self) -> dict[str, str]:
        """API user name → key, from ``API_KEYS`` (``name=key`` or bare ``key``: named ``key1``, ``key2``...),
        ``API_KEY`` (named ``api_key``) and ``API_MASTER_KEY`` (named ``master``)."""
        credentials: dict[str, str] = {}
        for position, entry in enumerate(self.api_keys, start=1):
            name, key = _api_key_entry(entry.get_secret_value(), position)
            credentials[name] = key
        if self.api_key is not None and self.api_key.get_secret_value().strip():
            credentials["api_key"] = self.api_key.get_secret_value().strip()
        if self.api_master_key is not None and self.api_master_key.get_secret_value().strip():
            credentials["master"] = self.api_master_key.get_secret_value().strip()
        return credentials

    @property
    def http_listen_port(self) -> int | None:
        """``HTTP_PORT``, else the PaaS's ``PORT``; in webhook mode else ``TELEGRAM_WEBHOOK_PORT`` (8443 by default,
        where the webhook used to be served); None when none applies."""
        if self.http_port is not None:
            return self.http_port
        if self.port is not None:
            return self.port
        return self.telegram_webhook_port if self.telegram_webhook_enabled else None

    @property
    def http_listen_host(self) -> str:
        """``HTTP_HOST``; in webhook mode a ``TELEGRAM_WEBHOOK_LISTEN`` set without it still counts (deprecated)."""
        if self.telegram_webhook_enabled and "http_host" not in self.model_fields_set:
            return self.telegram_webhook_listen
        return self.http_host

    @property
    def http_enabled(self) -> bool:
        """Whether ``run`` starts the HTTP side: an API key is configured, a port is set, or the Telegram
        webhook needs it."""
        return bool(self.api_credentials) or self.http_listen_port is not None

    @property
    def telegram_webhook_enabled(self) -> bool:
        """Webhook mode: a token and ``TELEGRAM_WEBHOOK_URL``."""
        return self.telegram_bot_token is not None and self.telegram_webhook_url is not None

    @property
    def telegram_webhook_secret_token(self) -> str:
        """``TELEGRAM_WEBHOOK_SECRET``, else one derived from the bot token: the same on every replica (each one
        calls setWebhook at start, and a random secret per replica would lock the others out), yet not guessable
        without the token. 43 characters of ``A-Za-z0-9_-``, as Telegram allows."""
        if self.telegram_webhook_secret is not None and self.telegram_webhook_secret.get_secret_value():
            return self.telegram_webhook_secret.get_secret_value()
        if self.telegram_bot_token is None:
            raise ConfigurationError("TELEGRAM_BOT_TOKEN", "not set")
        key = self.telegram_bot_token.get_secret_value().encode()
        digest = hmac.new(key, _WEBHOOK_SECRET_LABEL, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def effective_proxy(self) -> str | None:
        """``PROXY_URL``, else the standard ``HTTPS_PROXY``/``https_proxy``."""
        return self.proxy_url or os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or None


_API_KEY_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _api_key_entry(entry: str, position: int) -> tuple[str, str]:
    """``name=key`` → (name, key); a bare key (also one ending in base64's ``=`` padding) → (``keyN``, key)."""
    name, _, key = entry.strip().partition("=")
    if _API_KEY_NAME.match(name) and key.strip("="):
        return name, key.strip()
    return f"key{position}", entry.strip()


def collect_accounts(env: Mapping[str, str | None]) -> list[AccountConfig]:
    """Accounts from ``CF_API_TOKEN_N``+``ACCOUNT_N`` (any N, gaps allowed) and ``CF_ACCOUNT_ID``+``CF_API_TOKEN``."""
    upper = {key.upper(): (value or "").strip() for key, value in env.items()}
    accounts: list[AccountConfig] = []
    for name, token in upper.items():
        match = _NUMBERED_TOKEN.match(name)
        if not match or not token:
            continue
        number = int(match.group(1))
        account_id = upper.get(f"ACCOUNT_{number}", "")
        if not account_id:
            raise ConfigurationError(f"ACCOUNT_{number}", f"missing: CF_API_TOKEN_{number} is set without it")
        accounts.append(AccountConfig(index=number, account_id=account_id, token=token))
    for name, value in upper.items():
        match = re.match(r"^ACCOUNT_(\d+)$", name)
        if match and value and not upper.get(f"CF_API_TOKEN_{match.group(1)}"):
            raise ConfigurationError(f"CF_API_TOKEN_{match.group(1)}", f"missing: {name} is set without it")
    single_id, single_token = upper.get("CF_ACCOUNT_ID", ""), upper.get("CF_API_TOKEN", "")
    if bool(single_id) != bool(single_token):
        missing = "CF_API_TOKEN" if single_id else "CF_ACCOUNT_ID"
        raise ConfigurationError(missing, "missing: CF_ACCOUNT_ID and CF_API_TOKEN go together")
    if single_id and all(a.account_id != single_id or a.token != single_token for a in accounts):
        accounts.append(AccountConfig(index=0, account_id=single_id, token=single_token))
    accounts.sort(key=lambda account: account.index)
    return accounts


def load_settings(env_file: str | Path | None = ".env", environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings once; a bad value raises ``ConfigurationError`` naming the variable."""
    environ = os.environ if environ is None else environ
    file_values: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        file_values = dict(dotenv_values(env_file))
    merged = {**file_values, **environ}
    accounts = collect_accounts(merged)
    try:
        if environ is os.environ:
            return Settings(_env_file=env_file, accounts=accounts)
        # An explicit mapping (tests): validate only it and the file, never the process environment.
        fields: dict[str, object] = {
            name: merged[key]
            for name in Settings.model_fields
            if name != "accounts" and (key := _env_key(merged, name)) is not None
        }
        return Settings.model_validate({**fields, "accounts": accounts})
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
        raise ConfigurationError(variable, error["msg"]) from None


def _env_key(values: Mapping[str, str | None], field_name: str) -> str | None:
    for key in values:
        if key.upper() == field_name.upper() and values[key] is not None:
            return key
    return None


def _userinfo_secrets(url: str | None) -> list[str]:
    """The key in ``scheme://user:key@host``, or in ``scheme://key@host`` (a long user part with no password)."""
    if not url:
        return []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    if parts.password:
        return [parts.password]
    # A short user name alone ("api", "user") is no secret, and redacting it would mangle every log line.
    return [parts.username] if parts.username and len(parts.username) >= 8 else []
