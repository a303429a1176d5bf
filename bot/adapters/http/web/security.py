"""What keeps the page safe in a browser: security headers, and refusing requests made by other sites."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

#: Everything from our own origin; images also from blob: (reference previews). No inline script or style,
#: no framing, no plugins, forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

CSRF_HEADER = "X-CSRF-Token"


def is_same_site_request(request: Request, public_base_url: str | None = None) -> bool:
    """Whether a state-changing request comes from our own page.

    Browsers send ``Origin`` on every POST and ``Sec-Fetch-Site`` on every request; a form or script on
    another site cannot forge either. Clients that send neither (curl, scripts) are not browsers and so cannot
    be tricked into riding a session; they still need the session's CSRF token.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        allowed = {request.headers.get("host", "")}
        if public_base_url:
            allowed.add(urlsplit(public_base_url).netloc)
        return urlsplit(origin).netloc in allowed
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
