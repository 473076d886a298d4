"""Container image references: ``[registry/]repository[:tag][@digest]``, as Docker and
Kubernetes read them, and the release name a manifest derives from one.

Example:
    >>> ref = ImageRef.parse("ghcr.io/acme/shop:1.4.0")
    >>> ref.repository, ref.tag, ref.digest, ref.release
    ('ghcr.io/acme/shop', '1.4.0', None, '1.4.0')
    >>> ImageRef.parse("shop@sha256:" + "ab" * 32).release
    'sha256-abababababab'
    >>> ImageRef.parse("shop")
    Traceback (most recent call last):
    ...
    hyperdeliver.errors.ConfigurationError: --image 'shop' has no tag or digest: name a release, e.g. 'shop:1.4.0' or 'shop@sha256:…'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigurationError

# The grammar of github.com/distribution/reference (reference.go), without the domain's IPv6 form.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"^(?P<repository>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference that names one release: a tag other than ``latest``, a
    digest, or both."""

    text: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """The reference ``text``; a ConfigurationError of one line when it is malformed
        or does not pin a release."""
        text = text.strip()
        if not text:
            raise ConfigurationError("--image is empty: pass the image to deploy, e.g. --image ghcr.io/acme/shop:1.4.0")
        m = _REFERENCE.match(text)
        if m is None:
            raise ConfigurationError(
                f"--image {text!r} is not an image reference: use [registry/]name:tag or name@sha256:digest "
                "(lowercase name, e.g. ghcr.io/acme/shop:1.4.0)"
            )
        tag, digest = m.group("tag"), m.group("digest")
        if tag is None and digest is None:
            raise ConfigurationError(
                f"--image {text!r} has no tag or digest: name a release, e.g. '{text}:1.4.0' or '{text}@sha256:…'"
            )
        if tag == "latest" and digest is None:
            raise ConfigurationError(
                f"--image {text!r}: 'latest' names no release (every pod could run a different image); use a version tag or a digest"
            )
        return cls(text, m.group("repository"), tag, digest)

    @property
    def release(self) -> str:
        """The release this image is: its tag, else the digest's algorithm and first 12 hex digits."""
        if self.tag is not None:
            return self.tag
        assert self.digest is not None
        algorithm, _, hexdigits = self.digest.partition(":")
        return f"{algorithm}-{hexdigits[:12].lower()}"

    @property
    def pull_policy(self) -> str:
        """``IfNotPresent`` for a digest (the same bytes forever), else ``Always``: a tag can be pushed again."""
        return "IfNotPresent" if self.digest is not None else "Always"
