"""The fault layer over a real loopback socket."""

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from supportpulse.fakes import FaultMiddleware, Faults, ServedApp, serving
from supportpulse.fakes.faults import json_throttle
from supportpulse.fakes.serve import require_loopback


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=7)


@pytest.fixture
def served(faults: Faults) -> Iterator[ServedApp]:
    app = Starlette(routes=[Route("/api/hello", _hello), Route("/control", _hello)])
    with serving(FaultMiddleware(app, faults)) as running:
        yield running


def test_faults_off_serves_the_app(served: ServedApp) -> None:
    response = httpx.get(f"{served.url}/api/hello")

    assert response.status_code == 200
    assert response.json() == {"hello": "world"}


def test_faults_throttle_storm_refuses_several_requests_in_a_row(
    served: ServedApp, faults: Faults
) -> None:
    faults.storm_length = 3
    faults.enable(throttle=1.0)
    first = httpx.get(f"{served.url}/api/hello")
    # No new storms; the one the first request started goes on.
    faults.throttle = 0.0

    rest = [httpx.get(f"{served.url}/api/hello").status_code for _ in range(3)]

    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert rest == [429, 429, 200]


def test_faults_throttle_uses_the_vendor_headers(
    served: ServedApp, faults: Faults
) -> None:
    faults.throttle_response = json_throttle(
        lambda seconds: {"X-RateLimit-Reset": str(int(seconds) + 100)},
        {"errors": [{"code": "rate_limit_exceeded"}]},
    )
    faults.retry_after_s = 5
    faults.enable(throttle=1.0)

    response = httpx.get(f"{served.url}/api/hello")

    assert response.status_code == 429
    assert response.headers["x-ratelimit-reset"] == "105"
    assert response.json() == {"errors": [{"code": "rate_limit_exceeded"}]}


def test_faults_server_error_answers_5xx(served: ServedApp, faults: Faults) -> None:
    faults.enable(server_error=1.0)

    statuses = {httpx.get(f"{served.url}/api/hello").status_code for _ in range(8)}

    assert statuses <= {500, 502, 503, 504}
    assert faults.injected["server_error"] == 8


def test_faults_drop_closes_the_socket_without_a_reply(
    served: ServedApp, faults: Faults
) -> None:
    faults.enable(drop=1.0)

    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        httpx.get(f"{served.url}/api/hello")
    faults.disable()
    assert httpx.get(f"{served.url}/api/hello").status_code == 200


def test_faults_slow_still_answers(served: ServedApp, faults: Faults) -> None:
    faults.slow_s = 0.05
    faults.enable(slow=1.0)

    response = httpx.get(f"{served.url}/api/hello")

    assert response.status_code == 200
    assert faults.injected["slow"] == 1


def test_faults_paths_leave_other_endpoints_alone(
    served: ServedApp, faults: Faults
) -> None:
    faults.paths = ("/api/",)
    faults.enable(server_error=1.0)

    assert httpx.get(f"{served.url}/control").status_code == 200
    assert httpx.get(f"{served.url}/api/hello").status_code >= 500


def test_faults_same_seed_same_decisions() -> None:
    def run(seed: int) -> list[str | None]:
        faults = Faults(seed=seed, throttle=0.1, server_error=0.1, drop=0.1, slow=0.1)
        return [faults.decide("/x") for _ in range(200)]

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert {"throttle", "server_error", "drop", "slow", None} == set(run(3))


def test_faults_unknown_switch_is_refused(faults: Faults) -> None:
    with pytest.raises(ValueError, match="unknown fault switch 'explode'"):
        faults.enable(explode=1.0)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.org"])
def test_serve_refuses_non_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        require_loopback(host)
