"""Settings files: defaults, YAML and JSON, ${VAR} interpolation, clear errors."""

from datetime import timedelta
from pathlib import Path

import pytest

from supportpulse.config import CONFIG_ENV, Settings, load_settings
from supportpulse.errors import ConfigError

DEFAULT_TARGETS = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "medium": timedelta(hours=4),
    "low": timedelta(hours=24),
}


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    """The message of the ConfigError that loading `path` raises."""
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    return str(raised.value)


def test_load_settings_without_a_file_gives_the_defaults() -> None:
    settings = load_settings()

    assert settings.store is None
    assert settings.timezone == "UTC"
    assert settings.sla.first_response == DEFAULT_TARGETS
    assert settings.ingest.encoding == "utf-8"
    assert settings.ingest.max_field_size == 131072
    assert settings.mappings == {}


def test_load_settings_of_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "empty.yaml", "")) == Settings()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "settings.yaml",
            "store: /srv/sp.duckdb\ntimezone: Europe/Berlin\n"
            "ingest:\n  max_field_size: 100\nmappings:\n  agent: Owner\n",
        ),
        (
            "settings.json",
            '{"store": "/srv/sp.duckdb", "timezone": "Europe/Berlin",'
            ' "ingest": {"max_field_size": 100}, "mappings": {"agent": "Owner"}}',
        ),
    ],
    ids=["yaml", "json"],
)
def test_load_settings_reads_yaml_and_json_alike(
    tmp_path: Path, name: str, text: str
) -> None:
    settings = load_settings(write(tmp_path, name, text))

    assert settings.store == "/srv/sp.duckdb"
    assert settings.timezone == "Europe/Berlin"
    assert settings.ingest.max_field_size == 100
    assert settings.mappings == {"agent": "Owner"}


def test_load_settings_finds_the_file_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        CONFIG_ENV, str(write(tmp_path, "s.yaml", "timezone: Asia/Tokyo"))
    )

    assert load_settings().timezone == "Asia/Tokyo"


def test_load_settings_interpolates_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SP_TEST_USER", "alice")
    monkeypatch.setenv("SP_TEST_HOST", "db.internal")
    monkeypatch.setenv("SP_TEST_URGENT", "5m")
    path = write(
        tmp_path,
        "s.yaml",
        "store: postgresql://${SP_TEST_USER}@${SP_TEST_HOST}/support\n"
        "sla:\n  first_response:\n    urgent: ${SP_TEST_URGENT}\n",
    )

    settings = load_settings(path)

    assert settings.store == "postgresql://alice@db.internal/support"
    assert settings.sla.first_response["urgent"] == timedelta(minutes=5)


def test_load_settings_missing_variable_names_the_key_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SP_TEST_UNSET", raising=False)
    path = write(
        tmp_path, "s.yaml", "sla:\n  first_response:\n    urgent: ${SP_TEST_UNSET}\n"
    )

    message = config_error(path)

    assert "'sla.first_response.urgent'" in message
    assert "${SP_TEST_UNSET}" in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ingest:\n  max_field_size: 0\n", "ingest.max_field_size"),
        ("ingest:\n  max_field_size: lots\n", "ingest.max_field_size"),
        ("timezone: Mars/Olympus_Mons\n", "timezone"),
        ("sla:\n  first_response:\n    urgent: soon\n", "sla.first_response.urgent"),
        ("sla:\n  first_response:\n    low: 0s\n", "sla.first_response"),
    ],
)
def test_load_settings_invalid_value_names_the_dotted_key(
    tmp_path: Path, text: str, key: str
) -> None:
    assert f"key '{key}'" in config_error(write(tmp_path, "s.yaml", text))


@pytest.mark.parametrize(
    ("text", "key"),
    [("storre: x.duckdb\n", "storre"), ("ingest:\n  max_rows: 5\n", "ingest.max_rows")],
)
def test_load_settings_rejects_an_unknown_key(
    tmp_path: Path, text: str, key: str
) -> None:
    message = config_error(write(tmp_path, "s.yaml", text))

    assert f"key '{key}'" in message
    assert "not permitted" in message


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("15m", 900),
        ("3600", 3600),
        ("PT1H", 3600),
        ("1.5h", 5400),
        ("2d", 172800),
        ("200ms", 0.2),
    ],
)
def test_load_settings_reads_durations_in_three_forms(
    tmp_path: Path, value: str, seconds: int
) -> None:
    path = write(tmp_path, "s.yaml", f"sla:\n  first_response:\n    high: {value}\n")

    assert load_settings(path).sla.target_seconds("high") == seconds


def test_sla_targets_match_priorities_case_blind_and_default_to_normal(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "s.yaml", "sla:\n  first_response:\n    High: 30m\n")
    sla = load_settings(path).sla

    assert sla.target_seconds("HIGH") == 1800
    assert sla.target_seconds("urgent") == 900
    assert sla.target_seconds(None) == sla.target_seconds("whenever") == 4 * 3600


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("s.json", "{not json", "not valid JSON or YAML"),
        ("s.yaml", "- a\n- b\n", "top level must be a mapping"),
        ("s.yaml", b"timezone: caf\xe9\n", "not UTF-8"),
    ],
)
def test_load_settings_unreadable_file_says_why(
    tmp_path: Path, name: str, content: str | bytes, phrase: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    assert phrase in config_error(path)


def test_load_settings_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    assert f"{path}: cannot read config file" in config_error(path)


def test_load_settings_reads_a_secret_from_a_file_beside_the_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "db_password").write_text("s3cret\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("store: postgresql://sp:${file:db_password}@127.0.0.1/support\n")

    settings = load_settings(config)

    assert settings.store == "postgresql://sp:s3cret@127.0.0.1/support"


def test_load_settings_names_the_key_of_an_unreadable_secrets_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("store: postgresql://sp:${file:missing}@127.0.0.1/support\n")

    with pytest.raises(ConfigError, match=r"key 'store' reads secrets file .*missing"):
        load_settings(config)


def test_load_settings_reads_short_durations_in_every_section(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "engine: {batch_wait: 200ms, open_circuit_for: 1w}\n"
        "webhooks: {tolerance: 5m, remember: 3d}\n",
        encoding="utf-8",
    )

    settings = load_settings(path)

    assert settings.engine.batch_wait == timedelta(milliseconds=200)
    assert settings.engine.open_circuit_for == timedelta(weeks=1)
    assert settings.webhooks.tolerance == timedelta(minutes=5)
    assert settings.webhooks.remember == timedelta(days=3)
