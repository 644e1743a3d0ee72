"""The exceptions batchimg raises for bad input.

Every error batchimg raises on purpose derives from :class:`BatchimgError`, and
also from the builtin class a Python user would expect (``ValueError`` for a bad
value, ``FileNotFoundError`` for a missing path), so ``except ValueError`` keeps
working. Where scipy.ndimage (or scikit-image) raises another builtin for the same bad
call, the error also derives from that one (``ParameterRuntimeError`` is a
``RuntimeError``, ``ParameterTypeError`` a ``TypeError``, ...), so code written
against scipy catches it. Messages follow one shape:
``<what> must be <expectation>; got <value!r>.`` plus the context (path, shape,
dtype, step) and a hint where one helps.
"""


class BatchimgError(Exception):
    """Base class of every error batchimg raises on purpose."""


class InvalidParameterError(BatchimgError, ValueError):
    """A parameter value is out of range, of the wrong type or of the wrong length."""


class ParameterTypeError(InvalidParameterError, TypeError):
    """A parameter of the wrong type, where scipy.ndimage raises ``TypeError`` for it."""


class ParameterRuntimeError(InvalidParameterError, RuntimeError):
    """A parameter scipy.ndimage refuses with ``RuntimeError``.

    For example a sequence or kernel of the wrong rank or length, or an invalid origin.
    """


class ParameterIndexError(InvalidParameterError, IndexError):
    """A parameter out of range where scipy.ndimage raises ``IndexError`` for it."""


class InputError(BatchimgError, ValueError):
    """An input is unreadable, or does not match the other inputs or the parameters."""


class InputTypeError(InputError, TypeError):
    """An input of a type scipy.ndimage refuses with ``TypeError``.

    For example complex input where scipy does not support it, or an object array.
    """


class InputRuntimeError(InputError, RuntimeError):
    """An input scipy.ndimage refuses with ``RuntimeError``.

    For example an unsupported array type, or arrays of mismatched shapes.
    """


class InputNotFoundError(BatchimgError, FileNotFoundError):
    """An input path does not exist, or a directory or glob matched no image file."""


class WorkflowError(BatchimgError, ValueError):
    """A workflow file is invalid; the message names the file and the step.

    Parameters
    ----------
    message : str
        What is wrong, in the house message shape.
    source : str, optional
        The workflow file (or ``"<workflow>"`` for one built in Python).
    step : int, optional
        The 1-based number of the step at fault.
    step_name : str, optional
        The operation name of that step.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        step: int | None = None,
        step_name: str | None = None,
    ) -> None:
        self.source = source
        self.step = step
        self.step_name = step_name
        self.reason = message
        prefix = []
        if source is not None:
            prefix.append(str(source))
        if step is not None:
            prefix.append(f"step {step}" + (f" {step_name!r}" if step_name else ""))
        text = ", ".join(prefix) + ": " + message if prefix else message
        super().__init__(text)


__all__ = [
    "BatchimgError",
    "InputError",
    "InputNotFoundError",
    "InputRuntimeError",
    "InputTypeError",
    "InvalidParameterError",
    "ParameterIndexError",
    "ParameterRuntimeError",
    "ParameterTypeError",
    "WorkflowError",
]
