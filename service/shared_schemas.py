"""Answer shapes more than one door's contract uses: kept below the doors, so none imports another."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SeverityLabel = Literal["contraindicated", "major", "moderate", "minor"]


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = Field(
        description="The problem type: a URI under https://interaction-alerts.example/problems/.",
        examples=["https://interaction-alerts.example/problems/validation-error"],
    )
    title: str = Field(
        description="A short summary of the problem type.", examples=["Invalid request"]
    )
    status: int = Field(ge=400, le=599, description="The HTTP status code.", examples=[422])
    detail: str = Field(
        description="What went wrong in this request, and how to fix it.",
        examples=["medications: List should have at least 1 item after validation, not 0"],
    )
    errors: list[dict[str, str]] | None = Field(
        default=None,
        description="For validation errors: which field was wrong and why.",
        examples=[[{"field": "medications", "message": "List should have at least 1 item"}]],
    )
