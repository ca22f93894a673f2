"""The service's API description, at ``/openapi.json`` and ``/docs``: every door's, so beside the app
factory rather than inside one door."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from .openapi import openapi_document

blueprint = Blueprint("api_docs", __name__)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@blueprint.get("/docs")
def docs() -> str:
    return render_template("api_docs.html", spec=openapi_document())
