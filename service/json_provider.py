"""Flask's JSON through orjson, for ``jsonify`` and ``request.get_json`` (the encoding itself is
``jsonio``'s, which the database layer shares without Flask)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """``jsonify`` and ``request.get_json`` through orjson; templates' ``tojson`` stay as Flask has them."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        data = self._prepare_response_obj(args, kwargs)
        return Response(orjson.dumps(data), mimetype=self.mimetype)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
