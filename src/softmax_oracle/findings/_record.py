"""The record of one finding: a defect of another library, measured against the oracle.

A finding is data: the input that shows the defect (exact hex floats, as
:func:`softmax_oracle.compare.literal` writes them), a standalone repro that
calls the library and prints its result as a hex float, the library's result
next to the correctly rounded and the exact value, the error in ULP and
relative terms, the condition number, a kind, and a paragraph on the cause
and the stable formula.  The measured fields are written by
``tools/make_findings.py`` (never typed by hand) and checked against the
oracle by ``tests/test_findings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "KINDS", "LIBRARIES"]

KINDS: tuple[str, ...] = (
    "normal-range accuracy",  # a normal exact value, digits lost by the formula
    "underflow/overflow or flush to zero",  # a subnormal or huge result lost to the format's range
    "wrong class",  # NaN or inf where a number is due (or the reverse)
    "zero sign",  # +0.0 where -0.0 is due, or the reverse
)

# library name -> (module imported by the repro, distribution whose version is recorded)
LIBRARIES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "scipy": ("scipy", "scipy"),
    "jax": ("jax", "jax"),
}


@dataclass(frozen=True)
class Finding:
    """One defect of a library, with everything needed to reproduce and recheck it.

    Attributes
    ----------
    id : str
        Stable slug, e.g. ``"torch-log-softmax-dominant-logit-float32"``.
    library, version_measured : str
        A key of :data:`LIBRARIES`, and the version the numbers were measured on.
    function : str
        Oracle function name, with a ``grad.`` prefix for gradients.
    dtype : str
        Format of the input and result (``float64``, ``float32``, ``float16``, ``bfloat16``).
    kind : str
        One of :data:`KINDS`.
    arguments : tuple of str
        The oracle call's positional arguments, as Python literals of exact hex floats.
    options : tuple of (str, str)
        The oracle call's keyword arguments: name and Python literal.
    element : tuple of int
        The output element the finding is about (``()`` for a scalar result).
    repro : str
        Standalone Python that calls the library and prints that element as a hex float.
    got, rounded : str
        The library's result and the correctly rounded value, as hex floats (``float.hex``).
    exact : str
        The exact value, 30 significant decimal digits (``mpmath.nstr``).
    ulp_error, relative_error : float
        ``|got - exact| / ulp(exact)`` (``0.5`` = correctly rounded; NaN for a
        class mismatch) and ``|got - exact| / |exact|``.
    condition : float or None
        Relative condition number of the function at the input (``None`` where
        it is not defined: losses, row gradients).  An error of the order of
        ``condition`` ULP is the problem's; far above it, the formula's.
    cause, fix : str
        Which formula loses what; the stable formula that does not.
    """

    id: str
    library: str
    version_measured: str
    function: str
    dtype: str
    kind: str
    arguments: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    element: tuple[int, ...]
    repro: str
    got: str
    rounded: str
    exact: str
    ulp_error: float
    relative_error: float
    condition: float | None
    cause: str
    fix: str

    @property
    def grad(self) -> bool:
        """Whether the finding is about a gradient."""
        return self.function.startswith("grad.")

    @property
    def oracle_function(self) -> str:
        """The oracle function name without the ``grad.`` prefix."""
        return self.function.removeprefix("grad.")

    @property
    def input(self) -> str:
        """The oracle call's arguments as one pasteable string."""
        parts = list(self.arguments) + [f"{name}={value}" for name, value in self.options]
        return ", ".join(parts)
