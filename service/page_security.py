"""The strict headers every page people read carries (patients', staff and audit pages alike)."""

from __future__ import annotations

from flask import Response

# No inline script or style anywhere, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def strict_headers(response: Response, *, no_store: bool) -> Response:
    """CSP, no sniffing or framing, same-origin referrers; ``no_store`` for pages with personal data."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: Flask-WTF's HTTPS check needs the Referer on our own POSTs;
    # links to sources on other sites get nothing.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if no_store:
        headers["Cache-Control"] = "no-store"
    return response
