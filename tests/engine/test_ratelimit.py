"""Token buckets: vendor headers steer them; one account shares them."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from supportpulse.engine.ratelimit import (
    AccountKey,
    AccountLimits,
    TokenBucket,
    retry_after_s,
)


def test_account_key_digests_the_credential() -> None:
    key = AccountKey.of("zendesk", "Acme.zendesk.com", "agent@acme.com/token:s3cret")

    assert key == AccountKey.of(
        "zendesk", "acme.zendesk.com", "agent@acme.com/token:s3cret"
    )
    assert key != AccountKey.of("zendesk", "acme.zendesk.com", "other/token:s3cret")
    assert "s3cret" not in repr(key)


def test_account_limits_share_one_bucket_per_account_and_limit() -> None:
    limits = AccountLimits()
    key = AccountKey.of("zendesk", "acme.zendesk.com", "cred")

    first = limits.bucket(key, "account", 700)
    second = limits.bucket(key, "account", 400)
    export = limits.bucket(key, "export", 10)
    other = limits.bucket(
        AccountKey.of("zendesk", "beta.zendesk.com", "cred"), "account", 700
    )

    assert first is second
    assert export is not first
    assert other is not first
    assert first.rate == pytest.approx(700 / 60)
    assert len(limits) == 3


def test_account_limits_two_sources_spend_one_budget() -> None:
    limits = AccountLimits()
    key = AccountKey.of("zendesk", "acme.zendesk.com", "cred")
    one = limits.bucket(key, "export", 6)
    two = limits.bucket(key, "export", 6)

    asyncio.run(one.acquire())

    # Six a minute with a burst of one: the other source must now wait.
    assert two.wait_s() > 0


def test_bucket_follows_the_zendesk_limit_header() -> None:
    bucket = TokenBucket(200 / 60)

    bucket.observe({"X-Rate-Limit": "2500", "X-Rate-Limit-Remaining": "2499"})

    assert bucket.rate == pytest.approx(2500 / 60)


def test_bucket_pauses_until_reset_when_nothing_is_left() -> None:
    bucket = TokenBucket(100.0)

    bucket.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})

    assert 29 < bucket.wait_s() <= 30


def test_bucket_pause_for_waits_as_told() -> None:
    bucket = TokenBucket(100.0)

    bucket.pause_for(7)

    assert 6.9 < bucket.wait_s() <= 7


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)

    assert retry_after_s("17") == 17
    assert 110 < (retry_after_s(format_datetime(later, usegmt=True)) or 0) <= 120
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None
