"""The exception tree, branched by what the caller should do.

    SupportPulseError            anything this package raises on purpose
    ├── UserError                the user can fix it: exit code 1, one line, no traceback
    │   ├── ConfigError          a configuration key or value is wrong
    │   ├── StoreURLError        the store URL cannot be understood
    │   └── InputError           an input file cannot be read at all
    ├── StoreError               the store is unreachable or refused a statement
    ├── SourceError              a live source could not deliver
    │   ├── RetriableSourceError back off (honouring retry_after) and try again
    │   └── FatalSourceError     stop the source until someone fixes it
    └── RecordError              one record is bad; skip it into quarantine and go on

A command-line caller maps `UserError` and `StoreError` to a one-line message;
ingest code catches `RecordError` per record and never stops for it.
"""


class SupportPulseError(Exception):
    """Root of every error supportpulse raises on purpose."""


class UserError(SupportPulseError):
    """Something the user can correct; the message says what and how."""


class ConfigError(UserError):
    """A configuration key or value is invalid."""


class StoreURLError(UserError):
    """A store URL names no supported engine or is malformed."""


class InputError(UserError):
    """An input file cannot be opened or recognized."""


class StoreError(SupportPulseError):
    """The store could not be reached or rejected an operation."""


class RecordError(SupportPulseError):
    """One input record cannot be used; it belongs in quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceError(SupportPulseError):
    """A source could not deliver; subclasses say whether to try again."""


class RetriableSourceError(SourceError):
    """Try again later; `retry_after` seconds when the source said how long."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalSourceError(SourceError):
    """Retrying cannot help (bad credentials, unknown endpoint): stop the source."""


def first_line(exc: BaseException) -> str:
    """An exception's first line of text, or its class name when it has none;
    driver messages run to many lines of context that a one-line error omits."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
