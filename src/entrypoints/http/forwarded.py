"""Client address and scheme: from the socket, or from X-Forwarded-* headers only when the
peer is one of the configured trusted proxies.

Written here rather than taken from aiohttp-remotes: its XForwardedFiltered believes the
headers of any peer, and XForwardedStrict refuses clients that connect directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, or None: a zone (`fe80::1%eth0`) names an interface of whichever host
    wrote it, so an address with one is no client's address here."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None
    return address


def trusted(text: str | None, networks: Sequence[Network]) -> bool:
    address = _address(text or "")
    return address is not None and any(address in network for network in networks)


def forwarded_middleware(trusted_proxies: Sequence[str]) -> Middleware:
    networks = [ipaddress.ip_network(item, strict=False) for item in trusted_proxies]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.remote is None or not trusted(request.remote, networks):
            return await handler(request)
        # Every X-Forwarded-For line, in order, is one list (RFC 9110, 5.3): a proxy that adds
        # a line of its own after the client's (HAProxy's `option forwardfor`) writes the
        # client's true address last, and the first line alone is the client's say.
        lines = request.headers.getall("X-Forwarded-For", ())
        hops = [hop.strip() for hop in ",".join(lines).split(",")]
        client: str = request.remote
        for hop in reversed([hop for hop in hops if hop]):
            address = _address(hop)
            if address is None:  # what lies before an invalid hop cannot be believed
                break
            client = str(address)
            if not any(address in network for network in networks):
                break
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        scheme = proto if proto in {"http", "https"} else request.scheme
        return await handler(request.clone(remote=client, scheme=scheme))

    return middleware
