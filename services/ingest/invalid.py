"""Schema violations as bounded lists of errors.

A ``422`` lists at most ``MAX_ERRORS`` errors plus ``error_count``, the total, so that a
body of junk (say 1 MiB of unknown fields) costs no more than a normal error: pydantic
counts the errors in Rust, but turning each into a Python dict would cost a microsecond
apiece. When there are more than ``MAX_ERRORS``, the document is trimmed (each object to
its known fields and ``MAX_ERRORS`` others) and validated again, and the errors listed are
those of the trimmed document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json, to_json

from corridor.problems import MAX_ERRORS, Problem, validation_errors
from services.ingest.domain import Violation
from services.ingest.schemas import MAX_BATCH_EVENTS, BatchEnvelope, BookingIn, EventIn, LegIn

_KNOWN = frozenset(
    name for model in (EventIn, BookingIn, LegIn, BatchEnvelope) for name in model.model_fields
) | {"shipper", "consignee", "forwarder"}


def _trim(value: Any) -> Any:
    if isinstance(value, dict):
        others = [k for k in value if k not in _KNOWN][:MAX_ERRORS]
        return {k: _trim(v) for k, v in value.items() if k in _KNOWN or k in others}
    if isinstance(value, list):
        return [_trim(v) for v in value[: MAX_BATCH_EVENTS + 1]]
    return value


def _errors(exc: ValidationError, model: type[BaseModel], document: Any) -> list[dict[str, Any]]:
    """At most ``MAX_ERRORS`` of ``exc``'s errors, as pydantic reports them."""
    if exc.error_count() > MAX_ERRORS:
        try:
            model.model_validate_json(to_json(_trim(document)))
        except ValidationError as trimmed:
            exc = trimmed
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [dict(error) for error in errors[:MAX_ERRORS]]


def invalid(exc: ValidationError, model: type[BaseModel], body: bytes) -> Problem:
    """The ``422`` of a request body that is not a valid ``model``."""
    document: Any = None
    if exc.error_count() > MAX_ERRORS:
        try:
            document = from_json(body)
        except ValueError:
            document = None
    errors = validation_errors(_errors(exc, model, document))
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Problem(422, detail, errors=errors, error_count=exc.error_count())


def item_violations(exc: ValidationError, raw: Any) -> tuple[list[Violation], int]:
    """The violations of one batch item (at most ``MAX_ERRORS``) and how many there are."""
    violations = [
        Violation(".".join(str(part) for part in error["loc"]), _message(error), error["type"])
        for error in _errors(exc, EventIn, raw)
    ]
    return violations, exc.error_count()


def _message(error: Any) -> str:
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")
