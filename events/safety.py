"""Where an endpoint may point (PRODUCT.md, "Safety").

In production an endpoint URL must be https and every address its host resolves to must be
public: not private, loopback, link-local, shared (CGNAT), multicast or reserved, unless the
host is listed in WEBHOOK_ALLOWED_HOSTS. The check runs when an endpoint is saved and again
before each send, because what a name resolves to can change after it was saved.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


class UnsafeUrl(ValidationError):
    """An endpoint URL that production refuses."""


def webhook_url_check(url: str) -> None:
    """Raise UnsafeUrl (a ValidationError on `url`) when production may not send to `url`.
    Outside production (settings.IS_PRODUCTION false) any http(s) URL passes, so that a
    developer can point an endpoint at a receiver on their own machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl({"url": ["Enter an http or https URL with a host."]})
    if not settings.IS_PRODUCTION:
        return
    if parts.scheme != "https":
        raise UnsafeUrl({"url": ["Endpoints must use https."]})
    host = parts.hostname.lower().rstrip(".")
    if host in {allowed.lower() for allowed in settings.WEBHOOK_ALLOWED_HOSTS}:
        return
    for address in _addresses(host, parts.port or 443):
        if not address.is_global or address.is_multicast:
            raise UnsafeUrl(
                {
                    "url": [
                        f"{host} resolves to {address}, which is not a public address; "
                        "list the host in WEBHOOK_ALLOWED_HOSTS to allow it."
                    ]
                }
            )


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise UnsafeUrl({"url": [f"{host} does not resolve ({error})."]}) from error
    addresses = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        # An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 one.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        addresses.append(address)
    return addresses
