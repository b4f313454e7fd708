"""Bearer tokens and the two roles: a viewer may read, an admin may do anything.

With no token configured the API is open, which `check_bind` allows only on
a loopback address. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from supportpulse.config import ADMIN_TOKEN_ENV, VIEWER_TOKEN_ENV, ServiceSettings
from supportpulse.errors import ConfigError
from supportpulse.service.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Declares the scheme in the OpenAPI document; the header is checked below.
_BEARER = HTTPBearer(auto_error=False, description="The viewer or admin token.")


class Role(IntEnum):
    """What a caller may do; a higher role may do all a lower one may."""

    viewer = 1
    admin = 2


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: Shorter tokens fall to guessing over the network; 16 characters of
#: `secrets.token_urlsafe` carry 96 bits.
MIN_TOKEN_LENGTH = 16


def check_bind(settings: ServiceSettings) -> None:
    """Refuse to serve an open API anywhere but on loopback, or with a token
    that is short or shared by both roles."""
    for key, variable, token in (
        ("admin_token", ADMIN_TOKEN_ENV, settings.admin_token),
        ("viewer_token", VIEWER_TOKEN_ENV, settings.viewer_token),
    ):
        if token is not None and len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ConfigError(
                f"service.{key} ({variable}) is shorter than {MIN_TOKEN_LENGTH} "
                "characters; make one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(24))'"
            )
    admin, viewer = settings.admin_token, settings.viewer_token
    if (
        admin is not None
        and viewer is not None
        and _same(admin.get_secret_value(), viewer.get_secret_value())
    ):
        raise ConfigError(
            "service.admin_token and service.viewer_token are the same, so every "
            "viewer would be an admin; give the viewers their own token"
        )

    tokens = settings.admin_token or settings.viewer_token
    if not tokens and not is_loopback(settings.host):
        raise ConfigError(
            f"service.host '{settings.host}' is not a loopback address and no API "
            "token is set; set SUPPORTPULSE_ADMIN_TOKEN (and SUPPORTPULSE_VIEWER_TOKEN) "
            "or bind to 127.0.0.1"
        )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def role_of(settings: ServiceSettings, authorization: str | None) -> Role:
    """The role an Authorization header grants; raises ApiError when none."""
    admin, viewer = settings.admin_token, settings.viewer_token
    if admin is None and viewer is None:
        return Role.admin

    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            "unauthorized", "send 'Authorization: Bearer <token>'", _CHALLENGE
        )
    token = token.strip()
    # Both comparisons always run, so timing does not tell which token matched.
    is_admin = admin is not None and _same(token, admin.get_secret_value())
    is_viewer = viewer is not None and _same(token, viewer.get_secret_value())
    if is_admin:
        return Role.admin
    if is_viewer:
        return Role.viewer
    raise ApiError("unauthorized", "the bearer token is not valid", _CHALLENGE)


def _require(needed: Role) -> object:
    def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Role:
        settings: ServiceSettings = request.app.state.runtime.settings.service
        role = role_of(settings, request.headers.get("authorization"))
        if role < needed:
            raise ApiError("forbidden", f"this needs the {needed.name} token")
        return role

    return Depends(check)


#: Route dependencies: any valid token, or the admin token.
Viewer = Annotated[Role, _require(Role.viewer)]
Admin = Annotated[Role, _require(Role.admin)]
