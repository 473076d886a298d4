"""Password hashing: argon2id with at least OWASP's parameters."""

from __future__ import annotations

from argon2 import extract_parameters
from argon2.low_level import Type

from hyperdeliver.auth.passwords import Argon2Hasher


def test_hashes_are_argon2id_with_owasp_minimum_parameters() -> None:
    hashed = Argon2Hasher().hash("s3cret-password")
    assert hashed.startswith("$argon2id$")
    params = extract_parameters(hashed)
    assert params.type is Type.ID
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism >= 1


def test_verify_and_rehash() -> None:
    h = Argon2Hasher()
    hashed = h.hash("s3cret-password")
    assert h.verify(hashed, "s3cret-password")
    assert not h.verify(hashed, "other")
    assert not h.verify("not a hash", "s3cret-password")
    weak = Argon2Hasher(time_cost=1, memory_cost=8 * 1024).hash("x")
    assert h.needs_rehash(weak) and not h.needs_rehash(hashed)


def test_user_password_stored_as_argon2id() -> None:
    h = Argon2Hasher()
    assert h.hash("a") != h.hash("a")  # salted
