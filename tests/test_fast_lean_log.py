"""The lean fast phase's per-row logarithm ``L = log(k + T)``: both of its paths.

:func:`softmax_oracle.oracle._fast_lean.few_logs` (MPFR per row, blocks of at
most ``FEW_ROWS`` rows) must enclose the true value within its claimed radius,
tightly enough to decide; and the oracle must return the MPFR engine's bits
whichever path a block takes (the limit is patched to force each).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import softmax_oracle as so
from softmax_oracle.oracle import _fast_lean

U = 2.0**-53


def _cases(rng: np.random.Generator, n: int):
    """``(k, T, T_lo, T_err)`` per case: magnitudes from subnormal to 1e5, low words, zero and wide radii."""
    T = np.ldexp(rng.uniform(0.5, 1.0, n), rng.integers(-1074, 17, n))
    T[: n // 20] = 0.0
    T_lo = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(-1, 1, n) * U * T)
    T_err = np.where(rng.random(n) < 0.3, 0.0, T * 2.0 ** rng.uniform(-110, -1, n))
    k = rng.choice([1, 1, 2, 3, 17, 1000], n)
    return k, T, T_lo, T_err


def test_few_logs_encloses_log_k_plus_T() -> None:
    rng = np.random.default_rng(20261129)
    k, T, T_lo, T_err = _cases(rng, 3000)
    ok = np.ones(k.size, dtype=bool)
    L, L_lo, L_err = _fast_lean.few_logs(k, T[:, None], T_lo[:, None], T_err[:, None], ok)
    with mpmath.workprec(300):
        for i in range(k.size):
            centre = mpmath.mpf(float(T[i])) + mpmath.mpf(float(T_lo[i]))
            value = mpmath.mpf(float(L[i, 0])) + mpmath.mpf(float(L_lo[i, 0]))
            for t in (max(centre - float(T_err[i]), mpmath.mpf(0)), centre, centre + float(T_err[i])):
                true = mpmath.log1p(t) if k[i] == 1 else mpmath.log(int(k[i]) + t)
                assert abs(true - value) <= mpmath.mpf(float(L_err[i, 0])), (int(k[i]), T[i], T_lo[i], T_err[i])


def test_few_logs_bound_is_tight() -> None:
    """Without a radius on ``T`` the claimed radius is at most ``2**-103 |L|`` (plus the underflow floor)."""
    rng = np.random.default_rng(5)
    k, T, T_lo, _ = _cases(rng, 2000)
    L, L_lo, L_err = _fast_lean.few_logs(k, T[:, None], T_lo[:, None], np.zeros((k.size, 1)), np.ones(k.size, bool))
    assert np.all(L_err <= 2.0**-103 * np.abs(L) + 2.0**-1069)


def test_few_logs_rows_not_ok_are_unknown() -> None:
    L, L_lo, L_err = _fast_lean.few_logs(np.array([0, 1]), np.array([[0.0], [0.5]]), 0.0,
                                        np.zeros((2, 1)), np.array([False, True]))
    assert np.isinf(L_err[0, 0]) and np.isfinite(L_err[1, 0])


@pytest.mark.parametrize("few", [0, 10**9], ids=["vectorized", "mpfr-per-row"])
@pytest.mark.parametrize("fmt", ["float64", "float32", "bfloat16"])
def test_both_paths_give_the_mpfr_bits(few: int, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fast_lean, "FEW_ROWS", few)
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 10.0, (6, 50))
    x[1, :3] = x[1].max() + 1.0  # k = 3: log(S)
    x[2, 1:] = -np.inf  # one finite logit: L = 0
    x[3, 7] = np.nan
    x[4] *= 1e-30  # T near k - 1 + n
    x = x.astype(np.float32) if fmt != "float64" else x
    t = rng.integers(0, 50, 6)
    t[3] = 0
    kw = {"dtype": fmt}
    for f, args in ((so.oracle.logsumexp, (x,)), (so.oracle.log_softmax, (x,)),
                    (so.oracle.cross_entropy, (x[[0, 1, 4, 5]], t[[0, 1, 4, 5]]))):
        auto, mpfr = f(*args, **kw), f(*args, engine="mpfr", **kw)
        a, m = np.asarray(auto), np.asarray(mpfr)
        assert a.dtype == m.dtype and a.tobytes() == m.tobytes(), f.__name__
