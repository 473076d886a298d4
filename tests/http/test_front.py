"""The front of every HTTP call: the caller known without a database read, the client's address."""

from __future__ import annotations

from time import monotonic

from hyperdeliver import App, Settings
from hyperdeliver.auth.request import NOBODY, RequestAuth
from hyperdeliver.auth.principal import NO_COOKIES, Principal
from hyperdeliver.http.front import cached_caller, client_ip

ADA = RequestAuth(Principal(user_id=1, via="token"), NO_COOKIES, None, None)


def test_a_request_without_credentials_is_nobody_without_a_lookup() -> None:
    assert cached_caller({}, {b"host": b"x"}) is NOBODY


def test_a_token_verified_within_its_ttl_is_known_and_a_stale_or_unknown_one_is_not() -> None:
    verified = {b"Bearer fresh": (ADA, monotonic() + 60), b"Bearer stale": (ADA, monotonic() - 1)}
    assert cached_caller(verified, {b"authorization": b"Bearer fresh"}) is ADA
    assert cached_caller(verified, {b"authorization": b"Bearer stale"}) is None
    assert cached_caller(verified, {b"authorization": b"Bearer other"}) is None


def test_a_session_cookie_is_always_looked_up() -> None:
    assert cached_caller({}, {b"cookie": b"hd_session=s"}) is None


def test_the_client_address_is_the_peers_unless_a_trusted_proxy_forwards_it() -> None:
    scope = {"client": ("10.0.0.5", 4000)}
    plain = App("t", settings=Settings(env="test", database_url="sqlite://"))
    assert client_ip(plain, scope, {b"x-forwarded-for": b"203.0.113.9"}) == "10.0.0.5"
    proxied = App("t", settings=Settings(env="test", database_url="sqlite://", trusted_proxies="10.0.0.0/8"))
    assert client_ip(proxied, scope, {b"x-forwarded-for": b"203.0.113.9"}) == "203.0.113.9"
    assert client_ip(plain, {}, {}) == ""
