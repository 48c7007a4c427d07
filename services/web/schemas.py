"""OpenAPI descriptions of the resources, request bodies and problems (docs/api.md).

Request bodies are read and validated by the domain core (the documented order of checks matters),
so their schemas are given to OpenAPI as plain JSON Schema instead of pydantic body parameters.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from services.verification import validation
from services.web.problems import PROBLEM_MEDIA_TYPE, PROBLEMS

ID_PATTERN = f"^{validation.VERIFICATION_ID.pattern}$"
E164_PATTERN = f"^{validation.E164.pattern}$"
EMAIL_PATTERN = f"^{validation.EMAIL.pattern}$"
LOCALE_PATTERN = f"^{validation.LOCALE.pattern}$"
CODE_PATTERN = f"^{validation.CODE.pattern}$"
REFERENCE_PATTERN = "^[ -~]+$"
# docs/api.md: RFC 3339 in UTC with milliseconds and a `Z` (rendering.render_time writes it).
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
PROBLEM_TYPE_PATTERN = "^urn:problem:verify:[a-z_]+$"
Status = Literal["pending", "approved", "canceled", "max_attempts_reached", "expired"]
# A check answers only these; a canceled or expired verification is a 404 instead.
CheckStatus = Literal["pending", "approved", "max_attempts_reached"]
Channel = Literal["sms", "email"]


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ID_PATTERN)
    to: str
    channel: Channel
    locale: str | None
    reference: str | None = Field(max_length=validation.REFERENCE_MAX_LENGTH)
    status: Status
    send_attempts: int = Field(ge=1)
    check_attempts: int = Field(ge=0)
    created_at: str = Field(pattern=TIMESTAMP_PATTERN, json_schema_extra={"format": "date-time"})
    expires_at: str = Field(pattern=TIMESTAMP_PATTERN, json_schema_extra={"format": "date-time"})


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verification_id: str = Field(pattern=ID_PATTERN)
    to: str
    channel: Channel
    status: CheckStatus
    valid: bool
    check_attempts: int = Field(ge=1)
    remaining_attempts: int = Field(ge=0)


class ProblemDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=PROBLEM_TYPE_PATTERN)
    title: str
    status: int
    detail: str
    code: Literal[tuple(PROBLEMS)]  # type: ignore[valid-type]
    # Absent unless the problem names a member, never null: keep `null` out of the published schema.
    field: str | SkipJsonSchema[None] = Field(
        default=None,
        description="only for invalid_parameter, unsupported_number_type and geo_not_permitted",
    )


PHONE: dict[str, Any] = {"type": "string", "pattern": E164_PATTERN}
EMAIL: dict[str, Any] = {
    "type": "string", "pattern": EMAIL_PATTERN, "maxLength": validation.EMAIL_MAX_LENGTH,
}


# The end user's address, when the caller sends on their behalf (counted by the IP limit).
END_USER_IP: dict[str, Any] = {
    "type": ["string", "null"], "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
    "description": "the end user's IPv4 or IPv6 address (no port, brackets or zone)",
}
REFERENCE: dict[str, Any] = {
    "type": ["string", "null"], "pattern": REFERENCE_PATTERN, "minLength": 1,
    "maxLength": validation.REFERENCE_MAX_LENGTH,
    "description": "the caller's own reference, stored and returned; a resend keeps the first",
}


def _destination(channel: str, to: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["to", "channel"],
        "properties": {
            "channel": {"type": "string", "enum": [channel]},
            "to": to,
            "locale": {"type": ["string", "null"], "pattern": LOCALE_PATTERN},
            "end_user_ip": END_USER_IP,
            "reference": REFERENCE,
        },
    }


SEND_BODY: dict[str, Any] = {"oneOf": [_destination("sms", PHONE), _destination("email", EMAIL)]}

_CODE = {"type": "string", "pattern": CODE_PATTERN}
CHECK_BODY: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["verification_id", "code"],
            "properties": {"verification_id": {"type": "string"}, "code": _CODE},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["to", "code"],
            "properties": {
                "to": {"oneOf": [PHONE, EMAIL]},  # the form names the channel
                "code": _CODE,
            },
        },
    ]
}

IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def json_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


RETRY_AFTER_HEADER = {
    "Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                    "description": "seconds, rounded up"}
}

CHALLENGE_HEADER = {
    "WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                         "description": 'Bearer realm="verify"'}
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for the given problem statuses, listing their codes."""
    responses: dict[int | str, dict[str, Any]] = {}
    schema = ProblemDetails.model_json_schema()
    for status in statuses:
        codes = sorted(code for code, p in PROBLEMS.items() if p.status == status)
        response: dict[str, Any] = {
            "description": "Problem: " + ", ".join(codes),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER_HEADER
        if status == 401:
            response["headers"] = CHALLENGE_HEADER
        responses[status] = response
    return responses
