"""The configuration every IQM wire model shares: unknown input fields are ignored (newer
servers keep working) and assignments are validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["WireModel"]


class WireModel(BaseModel):
    """Common configuration: ignore unknown input fields, validate assignments."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True, populate_by_name=True)
