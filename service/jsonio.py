"""JSON for answers, log rows and hashes, through orjson: answers carry dozens of alerts, and
encoding them with the standard library was a large part of a check's cost."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def canonical(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same content, for hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class OrjsonProvider(DefaultJSONProvider):
    """``jsonify`` and ``request.get_json`` through orjson; templates' ``tojson`` stay as Flask has them."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        data = self._prepare_response_obj(args, kwargs)
        return Response(orjson.dumps(data), mimetype=self.mimetype)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
