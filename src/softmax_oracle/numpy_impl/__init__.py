"""Float implementations under test, in pure NumPy: ``naive``, ``stable``, ``accurate``.

Each tier module has the names and signatures of :mod:`softmax_oracle.oracle`
(and ``grad.<name>`` for the gradients), and checks its arguments with
:mod:`softmax_oracle.arguments`, so bad input raises the oracle's
:class:`~softmax_oracle.errors.InvalidInput` messages.
"""

from . import accurate, naive, stable

__all__ = ["naive", "stable", "accurate"]
