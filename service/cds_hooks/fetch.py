"""Fetching from an EHR's FHIR server, bounded in every way a caller could abuse.

Only a base URL registered for the calling client is fetched from, and only when the request
carries both ``fhirServer`` and ``fhirAuthorization`` (CDS Hooks §Prefetch). Every URL fetched, a
``next`` page or a redirect, must stay on that server under that base; the whole fetch has a connect
timeout, one deadline, a byte budget and a page budget. Nothing fetched is logged or echoed; errors
name what went wrong, never the token or the data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ..db.clients import normalize_fhir_base

MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Seconds to connect; seconds, bytes and pages for everything one request fetches."""

    connect_timeout: float = 3.0
    total_timeout: float = 10.0
    max_bytes: int = 8 * 1024 * 1024
    max_pages: int = 20


class FetchFailed(Exception):
    """The data could not be fetched completely; the message says why, for the EHR's operators."""


class FhirServer:
    """One request's access to the EHR's FHIR server at a registered base URL."""

    def __init__(self, base: str, access_token: str, limits: Limits) -> None:
        self.base = base
        self.limits = limits
        self._token = access_token
        self._deadline = time.monotonic() + limits.total_timeout
        self._bytes_left = limits.max_bytes
        self._pages_left = limits.max_pages
        self._session = requests.Session()
        # No proxies, netrc credentials or CA bundles from the environment: only what we decide.
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    def within(self, url: str) -> bool:
        """``url`` is on this server (same scheme, host and port) under its base path."""
        parts, base = urlsplit(url), urlsplit(self.base)
        origin = normalize_fhir_base(f"{parts.scheme}://{parts.netloc}")
        if origin is None or origin != normalize_fhir_base(f"{base.scheme}://{base.netloc}"):
            return False
        return parts.path.rstrip("/") == base.path or parts.path.startswith(base.path + "/")

    def query(self, query: str) -> Any:
        """The JSON answer to a FHIR query (``Patient/123``, ``MedicationRequest?...``) here."""
        return self.get(f"{self.base}/{query.lstrip('/')}")

    def get(self, url: str) -> Any:
        """The JSON at ``url``, which must be on this server under its base (a ``next`` link)."""
        if not self.within(url):
            raise FetchFailed("a URL outside the registered FHIR server was not fetched")
        if self._pages_left <= 0:
            raise FetchFailed(f"more than {self.limits.max_pages} pages; the rest was not fetched")
        self._pages_left -= 1
        for _ in range(MAX_REDIRECTS + 1):
            response = self._request(url)
            with response:
                if response.is_redirect:
                    target = urljoin(url, response.headers["Location"])
                    if not self.within(target):
                        raise FetchFailed(
                            "the FHIR server redirected to another server; not followed"
                        )
                    url = target
                    continue
                if response.status_code != 200:
                    raise FetchFailed(f"the FHIR server answered HTTP {response.status_code}")
                body = self._read(response)
            try:
                return json.loads(body)
            except ValueError as error:
                raise FetchFailed("the FHIR server answered something that is not JSON") from error
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed(
                f"the FHIR server did not answer within {self.limits.total_timeout:g} s"
            )
        return remaining

    def _request(self, url: str) -> requests.Response:
        remaining = self._remaining()
        try:
            return self._session.get(
                url,
                headers={
                    "Accept": "application/fhir+json",
                    # Uncompressed: the byte budget counts what arrives, and no decoder can stall.
                    "Accept-Encoding": "identity",
                    "Authorization": f"Bearer {self._token}",
                },
                timeout=(min(self.limits.connect_timeout, remaining), remaining),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as error:
            raise FetchFailed(
                f"the FHIR server did not answer within {self.limits.total_timeout:g} s"
            ) from error
        except requests.RequestException as error:
            raise FetchFailed(
                f"the FHIR server could not be reached ({type(error).__name__})"
            ) from error

    def _read(self, response: requests.Response) -> bytes:
        """The body, read as it arrives, so the deadline holds for a server that trickles it.

        Each read takes what one receive brings (``read1``), waiting at most until the deadline
        (the socket's timeout); a server sending a byte at a time is cut off at the deadline.
        """
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._bytes_left:
            raise FetchFailed(f"the FHIR server sent more than {self.limits.max_bytes} bytes")
        chunks = []
        try:
            while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
                self._bytes_left -= len(chunk)
                if self._bytes_left < 0:
                    raise FetchFailed(
                        f"the FHIR server sent more than {self.limits.max_bytes} bytes"
                    )
                self._remaining()
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise FetchFailed(
                f"the FHIR server's answer could not be read ({type(error).__name__})"
            ) from error
        return b"".join(chunks)
