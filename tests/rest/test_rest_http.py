"""The raw-ASGI HTTP helpers: the one request-header scan both adapters use."""

from __future__ import annotations

from hyperdeliver.rest.http import scan_headers


def test_scan_headers_finds_each_header_the_adapters_read() -> None:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Bearer hd_x"),
        (b"cookie", b"hd_session=s"),
        (b"x-csrf-token", b"c"),
        (b"x-request-id", b"r-1"),
        (b"content-type", b"application/json"),
        (b"accept", b"text/html"),
        (b"user-agent", b"tests"),
    ]
    assert scan_headers(headers) == (b"Bearer hd_x", b"hd_session=s", b"c", b"r-1", b"application/json", b"text/html")


def test_scan_headers_answers_none_for_absent_headers() -> None:
    assert scan_headers([]) == (None,) * 6
    assert scan_headers([(b"host", b"x"), (b"content-length", b"0")]) == (None,) * 6


def test_scan_headers_keeps_the_last_of_a_repeated_header() -> None:
    assert scan_headers([(b"x-request-id", b"first"), (b"x-request-id", b"second")])[3] == b"second"


def test_scan_headers_matches_asgi_lowercase_names_only() -> None:
    # ASGI servers lower-case header names; the scan relies on it and does no case folding.
    assert scan_headers([(b"Authorization", b"Bearer t")])[0] is None
