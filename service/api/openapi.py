"""The OpenAPI 3.1 document, generated from the pydantic models that validate and shape the API."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .schemas import (
    CheckRequestBody,
    CheckResponse,
    DrugSearchResponse,
    KbResponse,
    Problem,
    RulesResponse,
)

_REF = "#/components/schemas/{model}"


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _ok(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": _json(model)}


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [
            (CheckRequestBody, "validation"),
            (CheckResponse, "serialization"),
            (DrugSearchResponse, "serialization"),
            (RulesResponse, "serialization"),
            (KbResponse, "serialization"),
            (Problem, "serialization"),
        ],
        ref_template=_REF,
    )
    unavailable = _problem(
        "The knowledge base or the alert log is unavailable: no alerts were produced."
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Drug-interaction safety alerts",
            "version": "1",
            "description": "Severity-rated alerts for CNS-depressant and respiratory-depression "
            "interactions. Every answer is written to the alert log before it is sent.",
        },
        "paths": {
            "/api/v1/checks": {
                "post": {
                    "summary": "Check a medication list",
                    "operationId": "createCheck",
                    "security": [{"apiKey": []}],
                    "requestBody": {"required": True, "content": _json(CheckRequestBody)},
                    "responses": {
                        "200": _ok(CheckResponse, "The alerts, most severe first; logged."),
                        "401": _problem("No valid API key."),
                        "400": _problem("The body is empty or not JSON."),
                        "413": _problem("The body is larger than 64 KiB."),
                        "415": _problem("The body is not application/json."),
                        "422": _problem("A field is invalid; `errors` says which."),
                        "503": unavailable,
                    },
                }
            },
            "/api/v1/checks/{check_id}": {
                "get": {
                    "summary": "A logged check, as it was answered",
                    "operationId": "getCheck",
                    "security": [{"apiKey": []}],
                    "parameters": [
                        {
                            "name": "check_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _ok(CheckResponse, "The answer as it was given."),
                        "401": _problem("No valid API key."),
                        "404": _problem("No such check for this client."),
                        "503": unavailable,
                    },
                }
            },
            "/api/v1/drugs": {
                "get": {
                    "summary": "Search brand and generic names (autocomplete)",
                    "operationId": "searchDrugs",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 50,
                                "default": 20,
                            },
                        },
                    ],
                    "responses": {
                        "200": _ok(DrugSearchResponse, "Matching names with their ingredients."),
                        "422": _problem("q is missing or too long."),
                        "503": unavailable,
                    },
                }
            },
            "/api/v1/rules": {
                "get": {
                    "summary": "The active rules with their sources",
                    "operationId": "listRules",
                    "responses": {"200": _ok(RulesResponse, "Every rule."), "503": unavailable},
                }
            },
            "/api/v1/kb": {
                "get": {
                    "summary": "The active knowledge-base version and its counts",
                    "operationId": "getKb",
                    "responses": {
                        "200": _ok(KbResponse, "Version, scope and counts."),
                        "503": unavailable,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "operationId": "healthz",
                    "responses": {"200": {"description": "Alive."}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Database reachable and knowledge base loaded",
                    "operationId": "readyz",
                    "responses": {"200": {"description": "Ready."}, "503": _problem("Not ready.")},
                }
            },
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The key printed by `flask --app service clients create NAME`.",
                }
            },
        },
    }
