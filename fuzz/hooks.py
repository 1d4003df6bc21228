"""Schemathesis hooks for `npm run fuzz`, loaded through SCHEMATHESIS_HOOKS by fuzz/run-fuzz.mjs.

Authentication. fuzz/run-fuzz.mjs registers a fuzz user, logs it in and hands its access token over in
FUZZ_ACCESS_TOKEN (with FUZZ_USERNAME / FUZZ_PASSWORD). The provider below sends it as
`Authorization: Bearer <token>` on every operation whose OpenAPI entry has a `security` requirement,
so protected routes are exercised past the guard (public ones are left as generated).

Why re-login instead of excluding operations. Logout, logout-all, DELETE /api/users/me and
DELETE /api/auth/sessions/{id} (when the fuzzer picks the caller's own session id, which stateful
testing can do) end the session behind the token; every later request with it answers 401 by design.
Excluding those operations from the authenticated run would leave the project's core (revocation)
unfuzzed. Instead the provider is cached with `retry_on=[401]` (Schemathesis' reactive re-auth): when
a request that carried our token answers 401, Schemathesis drops the cached token, calls `get` again
and replays that request once with the new token (in the stateful phase, which does not replay,
`after_call` below drops the refused token so the next request gets a new one). `get` logs the fuzz user in again and, when that
user no longer exists (the fuzzer deleted the account) or its password is no longer ours, registers
a fresh fuzz user. Cases whose credentials the fuzzer removed or corrupted on purpose (negative
security tests, the `ignored_auth` check) keep their expected 401 and are not replayed.
The fuzz user's password is the document's example `currentPassword`, so the example request of
PATCH /api/users/me/password succeeds (204) once; it keeps the caller's session, and the next
re-login, refused with the old password, registers a new fuzz user.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import threading

import requests
import schemathesis
import schemathesis.auths

BASE_URL = os.environ["FUZZ_BASE_URL"].rstrip("/")
# Shorter than the access-token lifetime the runner starts the app with (15 min).
TOKEN_REFRESH_INTERVAL_S = 600
HTTP_TIMEOUT_S = 15


class _Account:
    """One account's credentials and token; `token()` logs in again when the cached token was refused."""

    def __init__(self, prefix: str, *, can_recreate: bool) -> None:
        self._lock = threading.Lock()
        self._can_recreate = can_recreate
        # The token fuzz/run-fuzz.mjs obtained; used until the server refuses it.
        self.initial_token: str | None = os.environ[f"{prefix}_ACCESS_TOKEN"]
        self.username = os.environ[f"{prefix}_USERNAME"]
        self.password = os.environ[f"{prefix}_PASSWORD"]
        self.current: str | None = self.initial_token
        self.relogins = 0
        self.registrations = 0

    def token(self) -> str:
        with self._lock:
            if self.initial_token:
                token, self.initial_token = self.initial_token, None
                return token
            response = self._login()
            if response.status_code == 401 and self._can_recreate:
                # The account was deleted by the fuzzer (or its password changed): start over with
                # a new account, with the same password (the document's example, see run-fuzz.mjs).
                self._register(f"fuzz_{secrets.token_hex(6)}")
                response = self._login()
            if response.status_code != 200:
                raise RuntimeError(f"login as {self.username} answered {response.status_code}: {response.text[:300]}")
            self.relogins += 1
            self.current = response.json()["accessToken"]
            return self.current

    def _login(self) -> requests.Response:
        return _post("/api/auth/login", {"username": self.username, "password": self.password})

    def _register(self, username: str) -> None:
        response = _post("/api/auth/register", {"username": username, "password": self.password})
        if response.status_code != 201:
            raise RuntimeError(f"registering {username} answered {response.status_code}: {response.text[:300]}")
        self.username = username
        self.registrations += 1


def _post(path: str, body: dict) -> requests.Response:
    return requests.post(f"{BASE_URL}{path}", json=body, timeout=HTTP_TIMEOUT_S)


def _bearer(case, token: str) -> None:
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


def _is_protected(ctx) -> bool:
    return bool(ctx.operation.definition.raw.get("security"))


FUZZ_USER = _Account("FUZZ", can_recreate=True)
# The start-up administrator (ADMIN_USERNAME), used for GET /api/users only, which needs role admin;
# a GET cannot end its session, and it is never recreated (a new account would not be an admin).
ADMIN = _Account("FUZZ_ADMIN", can_recreate=False)

# Providers are asked in the order they are registered; the first whose filter matches answers.
@schemathesis.auth(refresh_interval=TOKEN_REFRESH_INTERVAL_S, retry_on=[401]).apply_to(method="GET", path="/api/users")
class AdminBearer:
    def get(self, case, context):
        return ADMIN.token()

    def set(self, case, data, context):
        _bearer(case, data)


@schemathesis.auth(refresh_interval=TOKEN_REFRESH_INTERVAL_S, retry_on=[401]).apply_to(_is_protected)
class FuzzUserBearer:
    def get(self, case, context):
        return FUZZ_USER.token()

    def set(self, case, data, context):
        _bearer(case, data)


# Stateful testing follows OpenAPI links. Schemathesis infers GET /api/auth/sessions ->
# DELETE /api/auth/sessions/{id} by itself, but nothing tells it that the refresh token of a login is
# the input of a refresh (nor that a registration's credentials are those of a login), so without
# links every refresh it sends is a random string and only the 401 path of POST /api/auth/refresh is
# ever checked. These links are added only while the document declares none on that response: once
# the document carries its own, they take over.
SUPPLEMENTARY_LINKS = {
    ("/api/auth/register", "post", "201"): {
        "LoginAsTheNewUser": {
            "operationId": "login",
            "requestBody": {"username": "$response.body#/username", "password": "$request.body#/password"},
        },
    },
    ("/api/auth/login", "post", "200"): {
        "RefreshWithTheIssuedToken": {"operationId": "refresh", "requestBody": {"refreshToken": "$response.body#/refreshToken"}},
    },
    ("/api/auth/refresh", "post", "200"): {
        "RefreshAgainWithTheSuccessor": {"operationId": "refresh", "requestBody": {"refreshToken": "$response.body#/refreshToken"}},
    },
}
ADDED_LINKS: list[str] = []


@schemathesis.hook
def before_load_schema(context, raw_schema):
    operation_ids = {
        operation.get("operationId")
        for methods in raw_schema.get("paths", {}).values()
        for operation in methods.values()
        if isinstance(operation, dict)
    }
    for (path, method, status), links in SUPPLEMENTARY_LINKS.items():
        response = raw_schema.get("paths", {}).get(path, {}).get(method, {}).get("responses", {}).get(status)
        if not isinstance(response, dict) or response.get("links"):
            continue
        if not all(link["operationId"] in operation_ids for link in links.values()):
            continue
        response["links"] = links
        ADDED_LINKS.extend(f"{method.upper()} {path} {status} -> {name}" for name in links)


@schemathesis.hook
def after_call(context, case, response):
    """Drop a token as soon as the server refuses it, in every phase.

    Reactive re-auth (retry_on) replays refused requests in the examples, coverage and fuzzing
    phases only; the stateful phase would go on sending the dead token after, say, a
    DELETE /api/auth/sessions/{id} of its own session, and learn nothing more. A 401 to a request
    that carried exactly the current token means that session has ended: the cached token is
    invalidated, so the next request logs in again. Requests whose Authorization the fuzzer
    corrupted on purpose carry something else and change nothing.
    """
    if response.status_code != 401 or response.request is None:
        return
    sent = response.request.headers.get("Authorization")
    for account, provider_class in ((FUZZ_USER, FuzzUserBearer), (ADMIN, AdminBearer)):
        if account.current is not None and sent == f"Bearer {account.current}":
            account.current = None
            _invalidate_cached_token(provider_class)


def _invalidate_cached_token(provider_class) -> None:
    for provider in schemathesis.auths.GLOBAL_AUTH_STORAGE.providers:
        # SelectiveAuthProvider (the apply_to filter) -> CachingAuthProvider -> our class
        caching = getattr(provider, "provider", provider)
        if isinstance(getattr(caching, "provider", None), provider_class) and hasattr(caching, "invalidate"):
            caching.invalidate()


def _write_auth_summary() -> None:
    # Read back by fuzz/run-fuzz.mjs for its summary: how often the fuzzer ended our session.
    out = os.environ.get("FUZZ_AUTH_SUMMARY")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "relogins": FUZZ_USER.relogins,
                    "registrations": FUZZ_USER.registrations,
                    "admin_relogins": ADMIN.relogins,
                    "added_links": ADDED_LINKS,
                },
                handle,
            )


atexit.register(_write_auth_summary)
