"""`python -m supportpulse.fakes VENDOR` serves a fake by hand."""

import base64
import socket
import subprocess
import sys
import time

import httpx

AUTH = (
    "Basic " + base64.b64encode(b"admin@acme.example/token:fake-zendesk-token").decode()
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_fakes_main_serves_zendesk_on_loopback() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "supportpulse.fakes", "zendesk",
               "--port", str(port), "--tickets", "20"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/api/v2/incremental/tickets/cursor.json"
        deadline, answer = time.monotonic() + 30, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(
                    url, params={"start_time": 1}, headers={"Authorization": AUTH}
                )
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.terminate()
        _, printed = process.communicate(timeout=30)

    assert answer is not None
    assert answer.status_code == 200
    assert len(answer.json()["tickets"]) == 20
    # The credentials it prints are the ones it took.
    assert (
        b"credentials: email admin@acme.example, api_token fake-zendesk-token"
        in printed
    )


def test_fakes_main_refuses_other_hosts_and_vendors() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "supportpulse.fakes", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    other_host = run("zendesk", "--host", "0.0.0.0")
    unknown = run("nosuchdesk")

    assert other_host.returncode == 2
    assert "loopback only" in other_host.stderr
    assert unknown.returncode == 2
    assert "no fake for vendor 'nosuchdesk'" in unknown.stderr
