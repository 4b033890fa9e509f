"""Exceptions raised by softmax-oracle.

All of them derive from :class:`OracleError`; bad arguments are also
``ValueError`` so callers that already catch ``ValueError`` keep working.
"""

from __future__ import annotations

__all__ = ["OracleError", "InvalidInput", "PrecisionExhausted"]


class OracleError(Exception):
    """Base class of every error raised on purpose by softmax-oracle."""


class InvalidInput(OracleError, ValueError):
    """An argument is not acceptable; the message names it and shows its value."""


class PrecisionExhausted(OracleError, ArithmeticError):
    """The oracle could not decide a correctly rounded result below its precision cap.

    The oracle never guesses: when the exact value sits so close to a rounding
    boundary that ``max_bits`` bits of working precision cannot tell on which
    side it lies, it raises this error instead of returning a value.

    Attributes
    ----------
    function : str
        The oracle function that was evaluated.
    index : tuple of int
        Index of the output element that could not be decided.
    max_bits : int
        The precision cap that was reached.
    detail : str
        The inputs that produced the element, as exact hex floats.
    reason : str
        Why: too close to a rounding boundary, or (``softmax_oracle.exact``
        only) a value below MPFR's exponent range ``2**-1073741823``, such as
        ``exp(-1e10)``, which an unbounded format cannot round.
    """

    def __init__(self, function: str, index: tuple[int, ...], max_bits: int, detail: str,
                 reason: str = "it lies too close to a rounding boundary") -> None:
        self.function = function
        self.index = index
        self.max_bits = max_bits
        self.detail = detail
        self.reason = reason
        super().__init__(
            f"{function}: output element {index} could not be correctly rounded with "
            f"{max_bits} bits of working precision ({reason}); input: {detail}"
        )
