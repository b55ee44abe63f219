"""Settings: every `WEBHOOKD_*` variable, its default and its check, built once at start.

`load()` is the one place that reads the environment. On the embedded SQLite default
with nothing configured it also makes the development secrets (JWT signing secret and
ingest key) and keeps them in a file beside the database, so `make run` just works
and a restart keeps tokens valid.
"""

import base64
import functools
import json
import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import orjson
import yaml
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from webhookd import sealing
from webhookd.delivery.sender import Proxy
from webhookd.domain import catalog, circuit, network, operator, ratelimit, retry, urls
from webhookd.errors import Invalid
from webhookd.sealing import Sealer

MIN_HMAC_KEY_BYTES = 32


def shown(url: str) -> str:
    """A database URL with any password replaced, for logs and banners."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOKD_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./webhookd.db"
    database_pool_size: int = Field(10, ge=1, le=500)
    database_schema: str = Field("public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway: float = Field(30.0, ge=0, le=300)
    jwt_max_lifetime: float = Field(86400.0, ge=0, le=10 * 365 * 86400)  # 0: no maximum
    tenant_claim: str = "sub"

    ingest_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    event_types: str | None = None
    event_catalog: Path | None = None  # a JSON or YAML file of event types and schemas
    max_event_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_batch_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    numbers: Literal["exact", "round"] = "exact"  # domain/numbers.py

    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    max_headers: int = Field(100, ge=10, le=10_000)
    header_timeout: float = Field(10.0, gt=0, le=600)
    body_timeout: float = Field(30.0, gt=0, le=3600)
    body_min_rate: int = Field(1024, ge=0, le=100 * 1024 * 1024)
    max_connections: int = Field(10_000, ge=10, le=1_000_000)
    dashboard_rate_limit: str = "20/100"
    events_rate_limit: str = "1000/2000"

    allow_private_networks: bool = False
    allowed_cidrs: str = ""
    require_https: bool = False
    proxy_url: SecretStr | None = None  # http://[user:pass@]host:port: the egress proxy
    no_proxy: str = ""  # hosts and suffixes that bypass it

    delivery_timeout: float = Field(15.0, gt=0, le=300)
    worker_concurrency: int = Field(512, ge=1, le=10_000)
    webhook_concurrency: int = Field(64, ge=1, le=10_000)
    slow_attempt: float = Field(5.0, gt=0, le=300)
    circuit_failures: int = Field(5, ge=0, le=1000)
    circuit_cooldown: float = Field(30.0, gt=0, le=86400)
    circuit_max_cooldown: float = Field(600.0, gt=0, le=86400)
    poll_interval: float = Field(1.0, gt=0, le=60)
    retry_schedule: str = ",".join(f"{s:g}" for s in retry.DEFAULT_SCHEDULE)
    retry_jitter: float = Field(0.2, ge=0, le=1)
    disable_after: float = Field(retry.DEFAULT_DISABLE_AFTER_S, gt=0)
    retention_days: float = Field(30, ge=1, le=3650)
    fifo_max_retry_delay: float = Field(300.0, gt=0, le=86400)

    # Operational webhooks (domain/operator.py): the platform's own endpoint.
    operator_url: str | None = None
    operator_secret: SecretStr | None = None
    operator_events: str | None = None  # comma-separated; unset: all of them

    max_webhooks_per_tenant: int = Field(100, ge=1, le=100_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    metrics_port: int | None = Field(None, ge=1, le=65535)  # `webhookd worker` only
    # An application's PostgreSQL holding a producer outbox (docs/outbox.md): `serve` (with
    # its worker) and `worker` relay it; `webhookd relay --source` does it alone.
    outbox_source: str | None = Field(None, pattern=r"^postgres(ql)?://")
    outbox_batch: int = Field(500, ge=1, le=1000)

    # Set by load() alone, never from the environment: which secrets are development
    # ones generated beside the database, and where they are kept.
    _dev_file: Path | None = PrivateAttr(None)
    _generated: frozenset[str] = PrivateAttr(frozenset())

    @property
    def dev_secrets_file(self) -> Path | None:
        return self._dev_file

    def generated(self, name: str) -> bool:
        """Whether the secret `name` ("jwt_secret", "ingest_key") is a generated dev one."""
        return name in self._generated

    @field_validator("log_level", "log_format", "numbers", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("jwt_secret")
    @classmethod
    def _hmac_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_HMAC_KEY_BYTES:
            raise ValueError(
                f"must be at least {MIN_HMAC_KEY_BYTES} bytes; "
                "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("event_types")
    @classmethod
    def _event_types_parse(cls, value: str | None) -> str | None:
        if value is not None and not catalog.parse_types(value):
            raise ValueError("must name at least one event type")
        return value

    @field_validator("event_catalog")
    @classmethod
    def _event_catalog_loads(cls, value: Path | None) -> Path | None:
        if value is not None:
            load_catalog(value)
        return value

    @field_validator("operator_url")
    @classmethod
    def _operator_url_checks(cls, value: str | None) -> str | None:
        if value is not None:
            urls.check(value)
        return value

    @field_validator("operator_secret")
    @classmethod
    def _operator_secret_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            try:
                key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
            except ValueError:
                key = b""
            if not text.startswith("whsec_") or len(key) < 24:
                raise ValueError(
                    "must be whsec_ followed by the base64 of at least 24 random bytes, "
                    "like the secrets webhookd makes (see docs/operations.md)"
                )
        return value

    @field_validator("operator_events")
    @classmethod
    def _operator_events_parse(cls, value: str | None) -> str | None:
        if value is not None:
            operator.parse_events(value)
        return value

    @field_validator("jwks_url")
    @classmethod
    def _jwks_over_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("secret_key")
    @classmethod
    def _sealing_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            Sealer(value.get_secret_value())
        return value

    @field_validator("dashboard_rate_limit", "events_rate_limit")
    @classmethod
    def _limit_parses(cls, value: str) -> str:
        ratelimit.Limit.parse(value)
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: str) -> str:
        network.parse_cidrs(value)
        return value

    @field_validator("proxy_url")
    @classmethod
    def _proxy_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            Proxy.parse(value.get_secret_value())
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        retry.parse_schedule(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")):
            return value
        if not value.startswith("sqlite:///") or value.removeprefix("sqlite:///") in (
            "",
            ":memory:",
        ):
            raise ValueError(
                "must be sqlite:///PATH (a database file, such as sqlite:///./webhookd.db) "
                "or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return value

    @model_validator(mode="after")
    def _one_jwt_key_source(self) -> "Settings":
        sources = [self.jwt_secret, self.jwt_public_key, self.jwks_url]
        if sum(source is not None for source in sources) > 1:
            raise ValueError(
                "set only one of WEBHOOKD_JWT_SECRET, WEBHOOKD_JWT_PUBLIC_KEY, WEBHOOKD_JWKS_URL"
            )
        return self

    @model_validator(mode="after")
    def _one_catalog_source(self) -> "Settings":
        if self.event_types is not None and self.event_catalog is not None:
            raise ValueError(
                "set only one of WEBHOOKD_EVENT_TYPES (names) and WEBHOOKD_EVENT_CATALOG (a "
                "file of types with descriptions and schemas)"
            )
        return self

    @model_validator(mode="after")
    def _operator_url_with_secret(self) -> "Settings":
        if (self.operator_url is None) != (self.operator_secret is None):
            raise ValueError(
                "set both WEBHOOKD_OPERATOR_URL and WEBHOOKD_OPERATOR_SECRET, or neither"
            )
        return self

    @property
    def operator_types(self) -> tuple[str, ...]:
        """The operator events to send (`*`: every one)."""
        if self.operator_events is None:
            return ("*",)
        return operator.parse_events(self.operator_events)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for `sqlite:///path`, else None."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None

    @property
    def database_shown(self) -> str:
        """The database URL with any password replaced, for logs and banners."""
        return shown(self.database_url)

    @functools.cached_property
    def catalog(self) -> catalog.Catalog:
        """The event types: WEBHOOKD_EVENT_CATALOG's, WEBHOOKD_EVENT_TYPES', or the default."""
        if self.event_catalog is not None:
            return load_catalog(self.event_catalog)
        if self.event_types is None:
            return catalog.Catalog.plain(catalog.DEFAULT_TYPES)
        return catalog.Catalog.plain(catalog.parse_types(self.event_types))

    @functools.cached_property
    def sealer(self) -> Sealer:
        """Seals and opens webhook secrets at rest (WEBHOOKD_SECRET_KEY)."""
        if self.secret_key is None:
            raise Invalid(
                "WEBHOOKD_SECRET_KEY is not set: it encrypts webhook secrets at rest. Generate "
                'one with: python3 -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
        return Sealer(self.secret_key.get_secret_value())

    @functools.cached_property
    def network_policy(self) -> network.Policy:
        return network.Policy(
            allow_private=self.allow_private_networks,
            allowed=network.parse_cidrs(self.allowed_cidrs),
            require_https=self.require_https,
        )

    @functools.cached_property
    def proxy(self) -> Proxy | None:
        """The egress proxy deliveries, test sends and token requests go through."""
        if self.proxy_url is None or not self.proxy_url.get_secret_value().strip():
            return None
        return Proxy.parse(self.proxy_url.get_secret_value(), self.no_proxy)

    @functools.cached_property
    def retry_policy(self) -> retry.Policy:
        return retry.Policy(
            retry.parse_schedule(self.retry_schedule), self.retry_jitter, self.disable_after
        )

    @functools.cached_property
    def breaker(self) -> circuit.Breaker:
        return circuit.Breaker(
            self.circuit_failures,
            round(self.circuit_cooldown * 1000),
            round(max(self.circuit_max_cooldown, self.circuit_cooldown) * 1000),
        )

    @property
    def has_jwt_key(self) -> bool:
        return any(s is not None for s in (self.jwt_secret, self.jwt_public_key, self.jwks_url))


def load_catalog(path: Path) -> catalog.Catalog:
    """The event catalog in a JSON file, or a YAML one (.yaml, .yml); ValueError says
    what is wrong with it, and where."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            document = orjson.loads(text)
    except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise ValueError(f"{path} is not valid {kind}: {exc}") from None
    try:
        return catalog.parse_catalog(document)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load(**overrides: Any) -> Settings:
    """Settings from the environment, `overrides` (CLI flags) winning, dev secrets filled in."""
    given = {key: value for key, value in overrides.items() if value is not None}
    settings = Settings(**given)
    path = settings.sqlite_path
    if path is None or (
        settings.has_jwt_key and settings.ingest_key is not None and settings.secret_key is not None
    ):
        return settings
    secrets_file = path.with_name(path.name + ".secrets.json")
    dev = _read_or_create_dev_secrets(secrets_file)
    filled: dict[str, Any] = {}
    if not settings.has_jwt_key:
        filled["jwt_secret"] = dev["jwt_secret"]
    if settings.ingest_key is None:
        filled["ingest_key"] = dev["ingest_key"]
    if settings.secret_key is None:
        filled["secret_key"] = dev["secret_key"]
    settings = Settings(**{**given, **filled})
    settings._dev_file = secrets_file
    settings._generated = frozenset(filled)
    return settings


DEV_SECRETS = {
    "jwt_secret": lambda: secrets.token_urlsafe(48),
    "ingest_key": lambda: secrets.token_urlsafe(32),
    "secret_key": sealing.new_key,
}


def _read_or_create_dev_secrets(path: Path) -> dict[str, str]:
    """The development secrets kept beside the database; missing ones are added."""
    data: dict[str, str] = {}
    if path.exists():
        loaded = json.loads(path.read_text())
        if not isinstance(loaded, dict) or not {"jwt_secret", "ingest_key"} <= loaded.keys():
            raise ValueError(f"{path} is damaged: delete it to generate new development secrets")
        data = {key: str(value) for key, value in loaded.items()}
    missing = {name: make() for name, make in DEV_SECRETS.items() if name not in data}
    if missing:
        data.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        temporary.replace(path)
    return data


def describe(error: ValidationError) -> str:
    """One line per bad variable, naming it as it is set; values are never shown."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        name = f"WEBHOOKD_{field.upper()}" if field else "settings"
        lines.append(f"{name}: {problem['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)
