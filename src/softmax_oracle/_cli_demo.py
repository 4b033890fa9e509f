"""``softmax-oracle demo``: the seeds' worked examples next to the oracle's answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import click
import mpmath
import numpy as np

from . import exact, oracle

__all__ = ["demo", "EXAMPLES", "Example"]


@dataclass(frozen=True)
class Example:
    """One worked example from the blog posts the project grew from."""

    expression: str
    seed_printed: str
    compute: Callable[[], str]
    note: str = ""


def _fmt(arr) -> str:
    return np.array2string(np.asarray(arr), precision=8, separator=", ")


_X = np.array([[5, 4, 2], [4, 2, 8], [4, 4, 1]], dtype=np.float32)
_Y = np.array([0, 2, 1])
_PRED = np.array([[10.0, 0.0, -10.0], [8.0, 8.0, 8.0]], dtype=np.float32)

EXAMPLES: tuple[Example, ...] = (
    Example("softmax(float32 [2, 1, 0.1])", "[0.6590, 0.2424, 0.0986]",
            lambda: _fmt(oracle.softmax(np.array([2, 1, 0.1], dtype=np.float32)))),
    Example("softmax([1, 2, 3, 4, 5])", "[0.01165623, 0.03168492, 0.08612854, 0.23412166, 0.63640865]",
            lambda: _fmt(oracle.softmax(np.arange(1.0, 6.0)))),
    Example("softmax([1000, 2000, 3000, 4000, 5000])", "naive: [nan, nan, nan, nan, nan]; shifted: [0, 0, 0, 0, 1]",
            lambda: _fmt(oracle.softmax(np.array([1000.0, 2000, 3000, 4000, 5000]))),
            "the naive formula overflows; the exact answer is representable"),
    Example("exact softmax([1000, ..., 5000])[0]", "6.6385371046556741e-1738 (bigfloat, 53 bits)",
            lambda: mpmath.nstr(exact.softmax(np.array([1000.0, 2000, 3000, 4000, 5000]), bits=100)[0], 20),
            "the seed's bigfloat run rounded at every step"),
    Example("NLLLoss(log(model one), [2, 1, 0])", "1.3784",
            lambda: _fmt(oracle.nll_loss(np.log(np.array([[0.3, 0.3, 0.4], [0.3, 0.4, 0.3], [0.1, 0.2, 0.7]], dtype=np.float32)), np.array([2, 1, 0])))),
    Example("CrossEntropyLoss(sum)(X, [0, 2, 1])", "1.0873291492462158",
            lambda: _fmt(oracle.cross_entropy(_X, _Y, reduction="sum"))),
    Example("grad of CrossEntropyLoss(sum) = softmax - onehot", "[[-0.2946, 0.2595, 0.0351], [0.0179, 0.0024, -0.0204], [0.4879, -0.5121, 0.0243]]",
            lambda: _fmt(oracle.grad.cross_entropy(_X, _Y, reduction="sum"))),
    Example("CrossEntropyLoss(none)([[10, 0, -10], [8, 8, 8]], [0, 2])", "[4.5418e-05, 1.0986e+00] (PyTorch)",
            lambda: _fmt(oracle.cross_entropy(_PRED, np.array([0, 2]), reduction="none")),
            "PyTorch's float32 log-softmax loses digits here: the exact value is 4.5401e-05"),
    Example("cross_entropy([[2**53, -1]], [1])", "(not in the seeds)",
            lambda: repr(float(oracle.cross_entropy(np.array([[2.0**53, -1.0]]), np.array([1]), reduction="none")[0])),
            "2**53 + 1 + a vanishing term: rounds up to 2**53 + 2, not to even"),
)


@click.command()
def demo() -> None:
    """Print the seeds' worked examples next to the oracle's correctly rounded answers."""
    for ex in EXAMPLES:
        click.echo(ex.expression)
        click.echo(f"  seed printed : {ex.seed_printed}")
        click.echo(f"  oracle       : {ex.compute()}")
        if ex.note:
            click.echo(f"  note         : {ex.note}")
