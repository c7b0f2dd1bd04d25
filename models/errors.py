"""Errors raised by the data layer; the API and the actors map them at their edges."""


class StevoraError(Exception):
    """Base class of every error Stevora raises on purpose."""


class RunConflict(StevoraError):
    """The run changed since it was read (its version moved): reload and decide again."""


class IllegalTransition(StevoraError):
    """A status move the state machine of SPEC section 4 does not allow."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"{kind} cannot move from {current} to {target}")
        self.kind = kind
        self.current = current
        self.target = target


class InvalidFields(StevoraError):
    """A document (a request, a definition) has bad fields: each `{field, message}`, in order."""

    def __init__(self, message: str, fields: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields
