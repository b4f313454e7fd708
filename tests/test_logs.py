"""Masking of values shown to people: API answers and logs."""

from __future__ import annotations

from supportpulse.logs import MASK, is_secret_name, mask_secrets


def test_mask_secrets_hides_secret_names_and_url_passwords() -> None:
    options = {
        "url": "postgresql://reader:pw-canary@127.0.0.1/db",
        "headers": {"Authorization": "Bearer tok-canary", "Accept": "json"},
        "api_key": "k",
        "private_key_path": "/k",
        "dsn": "host=x password=y",
        "pages": [{"client_secret": "s"}],
        "table": "tickets",
    }

    masked = mask_secrets(options)

    assert masked["url"] == "postgresql://reader:***@127.0.0.1/db"
    assert masked["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert masked["api_key"] == masked["private_key_path"] == masked["dsn"] == MASK
    assert masked["pages"] == [{"client_secret": MASK}]
    assert masked["table"] == "tickets"


def test_is_secret_name_leaves_ordinary_names_alone() -> None:
    assert not any(map(is_secret_name, ["table", "speed", "monkey", "keyset_column"]))


def test_mask_secrets_hides_secret_query_parameters_and_auth_headers() -> None:
    options = {
        "url": "http://u:pw@127.0.0.1:9/t?api_key=K1&access_token=K2&page=3",
        "headers": {"Authorization": "Bearer K3", "X-Auth": "K6", "Accept": "json"},
        "mappings": {"author_id": "author"},
    }

    masked = mask_secrets(options)

    assert (
        masked["url"]
        == "http://u:***@127.0.0.1:9/t?api_key=***&access_token=***&page=3"
    )
    assert masked["headers"] == {
        "Authorization": "***",
        "X-Auth": "***",
        "Accept": "json",
    }
    assert masked["mappings"] == {"author_id": "author"}
