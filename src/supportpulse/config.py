"""Settings for one environment: a JSON or YAML file with `${VAR}` interpolation.

Every field has a default, so supportpulse runs with no file at all. Loading
validates the whole file and reports the first problem by its dotted key.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from supportpulse.alerts.durations import Duration
from supportpulse.alerts.rules import AlertSettings
from supportpulse.errors import ConfigError, first_line
from supportpulse.webhooks.settings import WebhookSettings

CONFIG_ENV = "SUPPORTPULSE_CONFIG"
ADMIN_TOKEN_ENV = "SUPPORTPULSE_ADMIN_TOKEN"
VIEWER_TOKEN_ENV = "SUPPORTPULSE_VIEWER_TOKEN"

FILE_REFERENCE = re.compile(r"\$\{file:([^}]+)\}")
_VAR = re.compile(r"\$\{(?:file:([^}]+)|([A-Za-z_][A-Za-z0-9_]*))\}")


def _default_targets() -> dict[str, timedelta]:
    return {
        "urgent": timedelta(minutes=15),
        "high": timedelta(hours=1),
        "normal": timedelta(hours=4),
        "medium": timedelta(hours=4),
        "low": timedelta(hours=24),
    }


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SLASettings(_Section):
    """First-response targets per priority; unknown priorities use `normal`."""

    first_response: dict[str, Duration] = Field(default_factory=_default_targets)

    @field_validator("first_response")
    @classmethod
    def _lower_and_complete(cls, targets: dict[str, timedelta]) -> dict[str, timedelta]:
        merged = _default_targets()
        merged.update({name.lower(): target for name, target in targets.items()})
        for name, target in merged.items():
            if target <= timedelta(0):
                raise ValueError(f"target for '{name}' must be positive")
        return merged

    def target_seconds(self, priority: str | None) -> float:
        """The first-response target for a priority, in seconds."""
        targets = self.first_response
        target = targets.get((priority or "normal").lower(), targets["normal"])
        return target.total_seconds()


class IngestSettings(_Section):
    """Limits and defaults for file ingest."""

    encoding: str = "utf-8"
    max_field_size: int = Field(default=131072, gt=0)
    batch_size: int = Field(default=20000, gt=0)
    #: Memory for the engine's buffers while ingesting, split between the
    #: scratch database that rebuilds conversations and an embedded store.
    memory_limit_mb: int = Field(default=256, ge=64)
    #: Processes scoring sentiment for large files; 0 scores in-process.
    sentiment_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)


class SourceSettings(_Section):
    """One live source: its name, plugin type, schedule and type options."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    type: str
    interval: Duration = timedelta(seconds=60)
    #: Share of the interval by which each poll is moved at random, so many
    #: sources started together do not poll in lockstep.
    jitter: float = Field(default=0.1, ge=0, le=1)
    timeout: Duration = timedelta(seconds=30)
    enabled: bool = True
    #: The service reports itself not ready while a required source has failed.
    required: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class EngineSettings(_Section):
    """Limits of the live engine."""

    queue_pages: int = Field(default=64, gt=0)
    #: Records the queue may hold before sources wait: bounds memory whatever
    #: the page size.
    queue_records: int = Field(default=20000, gt=0)
    #: Memory an embedded store may use for its buffers while the engine runs;
    #: without a cap DuckDB caches the whole table and grows with it.
    store_memory_mb: int = Field(default=256, ge=64)
    batch_records: int = Field(default=5000, gt=0)
    batch_wait: Duration = timedelta(milliseconds=200)
    max_concurrent_polls: int = Field(default=8, gt=0)
    failures_before_open: int = Field(default=5, gt=0)
    open_circuit_for: Duration = timedelta(seconds=60)
    backoff_base: Duration = timedelta(seconds=1)
    backoff_cap: Duration = timedelta(minutes=5)
    status_file: str = "supportpulse-status.json"
    #: Alert rules run after batches at most this often, and on this timer.
    alert_min_gap: Duration = timedelta(seconds=1)
    alert_every: Duration = timedelta(seconds=30)
    #: How long stopping waits for queued pages to be written.
    drain_timeout: Duration = timedelta(seconds=30)


def _token_from_env(variable: str) -> SecretStr | None:
    value = os.environ.get(variable, "").strip()
    return SecretStr(value) if value else None


class ServiceSettings(_Section):
    """The HTTP API the engine serves: where it listens and who may use it.

    Tokens left out of the file are read from SUPPORTPULSE_ADMIN_TOKEN and
    SUPPORTPULSE_VIEWER_TOKEN. Without any token the API is open, which the
    service allows only on a loopback address.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    admin_token: SecretStr | None = Field(
        default_factory=lambda: _token_from_env(ADMIN_TOKEN_ENV)
    )
    viewer_token: SecretStr | None = Field(
        default_factory=lambda: _token_from_env(VIEWER_TOKEN_ENV)
    )
    #: Uploads to POST /api/v1/ingest larger than this are refused with 413.
    max_upload_mb: float = Field(default=100, gt=0)
    #: KPI figures served by /metrics and the live stream are reused this long.
    kpi_cache: Duration = timedelta(seconds=5)
    #: Sources added through the API, kept across restarts (JSON, mode 0600).
    sources_file: str = "supportpulse-sources.json"
    #: Folders whose files sources added through the API may read (a replay
    #: file, an SQLite database, a `${file:...}` secret); the folder the
    #: service starts in by default. Config-file sources are not limited.
    file_roots: list[str] = Field(default_factory=lambda: ["."])

    @field_validator("admin_token", "viewer_token")
    @classmethod
    def _not_blank(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not token.get_secret_value().strip():
            return None
        return token


class Settings(_Section):
    """Everything one environment configures."""

    store: str | None = None
    timezone: str = "UTC"
    sla: SLASettings = Field(default_factory=SLASettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    mappings: dict[str, str] = Field(default_factory=dict)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        names = [source.name for source in sources]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"source name '{repeated[0]}' is used twice")
        return sources

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{name}'; use an IANA name") from exc
        return name

    @property
    def zone(self) -> ZoneInfo:
        """The zone naive timestamps are read in."""
        return ZoneInfo(self.timezone)


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from `path`, or `$SUPPORTPULSE_CONFIG`, or the defaults."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is None:
        return Settings()

    try:
        document = interpolate(_read_document(path), path)
    except RecursionError:
        raise ConfigError(
            f"{path}: nesting too deep (a YAML alias that contains itself?)"
        ) from None
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: key '{key}': {first['msg']}") from None


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from None

    try:
        is_json = path.suffix.lower() == ".json"
        document = json.loads(text) if is_json else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path}: not valid JSON or YAML: {first_line(exc)}"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{path}: nesting too deep (a YAML alias that contains itself?)"
        ) from None

    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return document


def _read_secret(path: Path, dotted: str, secret_file: str) -> str:
    """The contents of a secrets file (such as a Docker or Kubernetes secret),
    without its trailing newline; relative paths start at the config file."""
    location = (path.parent / secret_file.strip()).expanduser()
    try:
        return location.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(
            f"{path}: key '{dotted}' reads secrets file {location}, which cannot be "
            "read; check the path and its permissions"
        ) from None


def interpolate(node: Any, path: Path, key: tuple[str, ...] = ()) -> Any:
    """Replace `${VAR}` and `${file:PATH}` in every string value; a missing
    variable or unreadable file names its key (relative to `path`)."""
    if isinstance(node, dict):
        return {
            name: interpolate(value, path, (*key, str(name)))
            for name, value in node.items()
        }
    if isinstance(node, list):
        return [
            interpolate(value, path, (*key, str(i))) for i, value in enumerate(node)
        ]
    if not isinstance(node, str):
        return node

    dotted = ".".join(key)

    def substitute(match: re.Match[str]) -> str:
        secret_file, name = match[1], match[2]
        if secret_file is not None:
            return _read_secret(path, dotted, secret_file)
        if name not in os.environ:
            raise ConfigError(
                f"{path}: key '{dotted}' uses ${{{name}}}, which is not set; "
                "export it or remove the reference"
            )
        return os.environ[name]

    return _VAR.sub(substitute, node)
