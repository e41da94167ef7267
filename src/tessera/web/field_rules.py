"""Field rules run inside body validation: every invalid field of a request in one answer.

FastAPI validates a body field by field and gathers every problem before it answers. A rule left
to the service would only be reached once the body had passed, so a blank name and a missing
list of redirect URIs were reported one request at a time; Deskpro's forms report every invalid
field at once, and so does Tessera. A body model therefore runs the services' own rules as
validators of its fields (``checked``), and what they find joins pydantic's findings in one 400
``invalid_input`` (``web/errors.py``). The services keep checking, for the callers that are not
HTTP; what needs stored data (an address already in use, a person who is not an agent) is theirs
alone, and is reported once the body itself is valid.
"""

from collections.abc import Callable
from typing import Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from tessera.core.errors import FieldErrors

#: The pydantic error type that carries a rule's problems, at the paths the rule gave them.
FIELD_PROBLEMS = "field_problems"

#: A service's rule: adds what is wrong with a value to ``problems`` (its return is ignored).
Rule = Callable[[FieldErrors, Any], object]


def problems_error(problems: FieldErrors) -> PydanticCustomError:
    return PydanticCustomError(FIELD_PROBLEMS, "Request input is invalid.", {"problems": problems})


def checked(rule: Rule) -> AfterValidator:
    """A validator that applies ``rule`` to a field's value (None, an absent field, passes)."""

    def run(value: Any) -> Any:
        if value is None:
            return value
        problems = FieldErrors()
        rule(problems, value)
        if problems:
            raise problems_error(problems)
        return value

    return AfterValidator(run)


def carried_problems(error: dict[str, Any]) -> FieldErrors | None:
    """The problems a ``checked`` rule found, if this pydantic error is one of theirs."""
    if error.get("type") != FIELD_PROBLEMS:
        return None
    problems = (error.get("ctx") or {}).get("problems")
    return problems if isinstance(problems, FieldErrors) else None


def enforce(rule: Callable[[FieldErrors], object]) -> None:
    """Apply a rule across fields (its values already bound) inside a validator."""
    problems = FieldErrors()
    rule(problems)
    if problems:
        raise problems_error(problems)


def merge_into(into: FieldErrors, other: FieldErrors, path: tuple[str, ...] = ()) -> None:
    """Add every problem of ``other`` to ``into``, ``path`` in front of its own."""
    for error in other.errors:
        into.add(path, error)
    for name, child in other.fields.items():
        merge_into(into, child, (*path, name))
