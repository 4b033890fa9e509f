"""Registry of implementations under test, by name, with the oracle's signatures.

A *candidate* is a family of implementations (``"torch"``, ``"scipy"``, ...);
an :class:`Implementation` is one function of it, e.g. torch's softmax or
its gradient.  Every implementation takes the arguments of the oracle
function of the same name (:mod:`softmax_oracle.oracle`, or
:mod:`softmax_oracle.oracle.grad` with ``grad=True``) and returns a NumPy
array.

Frameworks are imported only when a candidate is first used, so a missing
package makes its candidate unavailable (:class:`CandidateUnavailable`, with
the reason and the install command) and never breaks ``import
softmax_oracle``.

Registered candidates
---------------------
``numpy-naive``, ``numpy-stable``, ``numpy-accurate``
    :mod:`softmax_oracle.numpy_impl` tiers.
``scipy``
    :mod:`scipy.special` (no gradients).
``torch``
    CPU ``torch.nn.functional`` with autograd gradients, one thread per call.
``jax``
    ``jax.nn`` / ``jax.scipy.special`` with ``jax.vjp`` gradients (optional).

Any callable is a candidate too, and so is a ``"module:function"`` string
(imported from ``sys.path``; the ``softmax-oracle`` command puts the current
folder first on it, as ``python -m``, pytest and uvicorn do) or a
``"path/to/kern.py:function"`` string (the file's folder goes first on
``sys.path`` and the file is imported by its name, as pytest does).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import InvalidInput, OracleError

__all__ = [
    "FUNCTIONS",
    "Implementation",
    "Candidate",
    "CandidateUnavailable",
    "CANDIDATES",
    "get",
    "resolve",
    "availability",
]

FUNCTIONS: tuple[str, ...] = (
    "logsumexp",
    "softmax",
    "log_softmax",
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
)


class CandidateUnavailable(OracleError, LookupError):
    """A candidate (or one function of it) cannot be used here; the message says why."""


@dataclass(frozen=True)
class Implementation:
    """One function of a candidate, callable with the oracle's signature.

    Attributes
    ----------
    candidate : str
        Name of the family (``"torch"``) or of the user's callable.
    function : str
        Oracle function it implements (``"softmax"``).
    grad : bool
        True for the gradient (signature of ``softmax_oracle.oracle.grad``).
    call : callable
        The adapter.
    note : str
        How the adapter differs from a plain call, e.g. a promotion of float16
        to float64 and the rounding back, or a deliberate deviation from the
        mathematics (torch's BCE clamp); empty when there is nothing to say.
    """

    candidate: str
    function: str
    grad: bool
    call: Callable[..., Any] = field(repr=False)
    note: str = ""

    @property
    def label(self) -> str:
        """``"torch:softmax"`` or ``"torch:grad.softmax"``."""
        return f"{self.candidate}:{'grad.' if self.grad else ''}{self.function}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)


Table = Mapping[tuple[str, bool], Implementation]


@dataclass(frozen=True)
class Candidate:
    """A named family of implementations, loaded on first use.

    Attributes
    ----------
    name : str
        Registry name.
    description : str
        One line for listings.
    loader : callable
        Returns the table ``{(function, grad): Implementation}``; raises
        ``ImportError`` when its package is missing.
    install : str
        What to install to make it available.
    """

    name: str
    description: str
    loader: Callable[[], Table] = field(repr=False)
    install: str = ""

    def table(self) -> Table:
        """The implementations; :class:`CandidateUnavailable` if the package is missing."""
        cached = _LOADED.get(self.name)
        if cached is not None:
            return cached
        try:
            table = self.loader()
        except ImportError as err:
            hint = f" (install: {self.install})" if self.install else ""
            raise CandidateUnavailable(f"candidate {self.name!r} is unavailable: {err}{hint}") from err
        _LOADED[self.name] = table
        return table

    def available(self) -> bool:
        try:
            self.table()
        except CandidateUnavailable:
            return False
        return True

    def functions(self, *, grad: bool = False) -> tuple[str, ...]:
        """Oracle functions this candidate implements (gradients with ``grad=True``)."""
        return tuple(f for f in FUNCTIONS if (f, grad) in self.table())

    def implementation(self, function: str, *, grad: bool = False) -> Implementation:
        """The implementation of ``function`` (or its gradient).

        Raises
        ------
        InvalidInput
            ``function`` is not an oracle function.
        CandidateUnavailable
            The package is missing, or the candidate has no such function.
        """
        check_function(function)
        impl = self.table().get((function, grad))
        if impl is None:
            have = ", ".join(self.functions(grad=grad)) or "none"
            what = f"the gradient of {function}" if grad else function
            raise CandidateUnavailable(
                f"candidate {self.name!r} has no implementation of {what}; it has: {have}"
            )
        return impl


_LOADED: dict[str, Table] = {}


def check_function(function: Any) -> str:
    """``function`` if it names an oracle function, else :class:`InvalidInput` listing them."""
    if not isinstance(function, str) or function not in FUNCTIONS:
        raise InvalidInput(f"function must be one of {', '.join(FUNCTIONS)}; got function={function!r}")
    return function


def _numpy_tier(tier: str) -> Callable[[], Table]:
    def load() -> Table:
        from ._numpy import load_tier

        return load_tier(tier)

    return load


def _lazy(module: str) -> Callable[[], Table]:
    def load() -> Table:
        return importlib.import_module(f".{module}", __name__).load()

    return load


CANDIDATES: dict[str, Candidate] = {
    c.name: c
    for c in (
        Candidate("numpy-naive", "textbook formulas in NumPy (overflow included)", _numpy_tier("naive")),
        Candidate("numpy-stable", "shifted by the max, log1p/expm1 in NumPy", _numpy_tier("stable")),
        Candidate("numpy-accurate", "compensated NumPy implementation", _numpy_tier("accurate")),
        Candidate("scipy", "scipy.special (softmax family; losses from xlogy/log_expit)", _lazy("_scipy"),
                  "pip install scipy"),
        Candidate("torch", "CPU torch.nn.functional, autograd gradients", _lazy("_torch"),
                  "pip install torch"),
        Candidate("jax", "jax.nn and jax.scipy.special, jax.vjp gradients", _lazy("_jax"),
                  "pip install jax"),
    )
}


def get(name: Any) -> Candidate:
    """The registered candidate ``name``; :class:`InvalidInput` listing the known ones otherwise."""
    candidate = CANDIDATES.get(name) if isinstance(name, str) else None
    if candidate is None:
        raise InvalidInput(
            f"candidate must be one of {', '.join(CANDIDATES)}, a 'module:function' string or a callable; "
            f"got candidate={name!r}"
        )
    return candidate


def _is_file_spec(location: str) -> bool:
    return location.endswith(".py") or "/" in location or os.sep in location


def _import_file(location: str) -> Any:
    """The module of a ``.py`` file, imported as pytest's ``prepend`` mode does.

    Its folder goes first on ``sys.path`` (and stays there, so that the file
    can import its neighbours, now or later) and the file is imported by its
    stem; an already imported module of that name from another file is an
    error rather than a silent substitute.
    """
    path = Path(location).expanduser().resolve()
    if path.suffix != ".py" or not path.is_file():
        raise ImportError(f"no Python file {location!r} (from {os.getcwd()})")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = importlib.import_module(path.stem)
    found = Path(getattr(module, "__file__", "") or "").resolve()
    if found != path:
        raise ImportError(f"module name {path.stem!r} is already taken by {found}")
    return module


def _import_callable(spec: str) -> Callable[..., Any]:
    location, _, attribute = spec.rpartition(":")  # rpartition: a Windows path has a colon of its own
    try:
        obj: Any = _import_file(location) if _is_file_spec(location) else importlib.import_module(location)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise InvalidInput(f"candidate={spec!r} cannot be imported: {err}") from None
    if not callable(obj):
        raise InvalidInput(f"candidate={spec!r} is not callable: {obj!r}")
    return obj


def resolve(candidate: Any, function: str, *, grad: bool = False) -> Implementation:
    """The :class:`Implementation` that ``candidate`` stands for.

    Parameters
    ----------
    candidate : str, Candidate, Implementation or callable
        A registry name (its implementation of ``function`` is taken), a
        ``"module:function"`` or ``"path/to/file.py:function"`` string (see
        the module's docstring) or any callable (used as given: it must
        compute ``function``, or its gradient when ``grad=True``).
    function : str
        Oracle function name.
    grad : bool
        Gradient instead of value.
    """
    check_function(function)
    if isinstance(candidate, Implementation):
        return candidate
    if isinstance(candidate, Candidate):
        return candidate.implementation(function, grad=grad)
    if isinstance(candidate, str):
        if ":" in candidate and candidate not in CANDIDATES:
            return Implementation(candidate, function, grad, _import_callable(candidate))
        return get(candidate).implementation(function, grad=grad)
    if callable(candidate):
        name = getattr(candidate, "__qualname__", None) or type(candidate).__name__
        module = getattr(candidate, "__module__", None)
        return Implementation(f"{module}.{name}" if module else name, function, grad, candidate)
    raise InvalidInput(
        f"candidate must be one of {', '.join(CANDIDATES)}, a 'module:function' string or a callable; "
        f"got candidate={candidate!r}"
    )


def availability() -> dict[str, str]:
    """``{name: "available" or the reason it is not}`` for every registered candidate."""
    status: dict[str, str] = {}
    for name, candidate in CANDIDATES.items():
        try:
            candidate.table()
            status[name] = "available"
        except CandidateUnavailable as err:
            status[name] = str(err)
    return status
