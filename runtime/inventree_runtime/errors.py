"""The one error type the runtime reports to the operator."""


class RuntimeFailure(Exception):
    """A failure with a message meant for the operator (no traceback).

    The message says what failed and, when it can, what to do about it.
    """
