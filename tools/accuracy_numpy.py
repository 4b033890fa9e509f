"""Max ULP error of the accurate NumPy tier against the oracle, per function and format.

Usage: python tools/accuracy_numpy.py SEED N > table.md

N rounds of random inputs (rows of 1-3 x 1-39 logits: any bit pattern of the
format, normal logits x 1, 30, 1000, or one logit far above the others (700-760
or 2e4 below it: underflowing terms, subnormal and zero results); -inf masks), every gradient with a random
grad_output (any finite bit pattern or normal values), losses with weights,
label smoothing (0, 0.125, 1) and probability targets.  Examples the oracle
cannot decide (PrecisionExhausted) are skipped.  Prints a Markdown table of the
max ULP error, then one of zero-sign errors (a zero whose sign is not the exact
value's, where the exact value is not 0).  Two more rows: softmax on rows of 33-79 normal logits (x 1,
3, 10, 30, 300; float64 and float32), and the float64 softmax gradient of rows with near-equal logits
(0, a tiny value and a multiple of it, optionally shifted by an integer logit, integer grad_output).
"""
import sys, warnings, numpy as np
warnings.simplefilter("ignore")
from softmax_oracle import exact, ulp
from softmax_oracle.errors import PrecisionExhausted
from softmax_oracle.formats import FORMATS
from softmax_oracle.numpy_impl import accurate
from softmax_oracle.numerics.cast import round_to_format
rng = np.random.default_rng(int(sys.argv[1]))
N = int(sys.argv[2])
def rand(fmt, shape, masks):
    kind = rng.integers(5 if masks and len(shape) == 2 else 4)
    if kind == 4:
        v = -rng.choice([700.0, 745.0, 2e4]) - rng.uniform(0, 60, shape)
        v[np.arange(shape[0]), rng.integers(0, shape[-1], shape[0])] = rng.standard_normal(shape[0])
    elif kind == 0:
        v = rng.integers(0, 2**fmt.bits, shape, dtype=np.uint64).astype(fmt.uint_dtype).view(fmt.dtype)
        v = v.astype(np.float64)
    else:
        v = rng.standard_normal(shape) * [1, 30, 1000][kind - 1]
    v = round_to_format(v, fmt).astype(np.float64)
    v[~np.isfinite(v)] = -np.inf if masks else 1.0
    return round_to_format(v, fmt)
worst = {}
signs = {}
def rec(key, got, ex, fmt):
    e = np.nan_to_num(np.asarray(ulp.ulp_error(got, ex, fmt=fmt), dtype=float), nan=np.inf)
    worst[key] = max(worst.get(key, 0.0), float(e.max()) if e.size else 0.0)
    g = np.asarray(got, dtype=float).reshape(-1)
    exs = np.asarray(ex, dtype=object).reshape(-1)
    bad = sum(1 for a, b in zip(g, exs) if a == 0 and b != 0 and bool(np.signbit(a)) != bool(b < 0))
    signs[key] = signs.get(key, 0) + bad
for it in range(N):
    fmt = FORMATS[it % 4]
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 40)))
    x = rand(fmt, shape, True); x[:, 0] = np.where(np.isfinite(x.astype(float).max(axis=1)), x[:, 0], 0)
    for fn in ("softmax", "log_softmax", "logsumexp"):
        try:
            rec((fmt.name, fn), getattr(accurate, fn)(x), getattr(exact, fn)(x), fmt)
            g = rand(fmt, shape[:1] if fn == "logsumexp" else shape, False)
            rec((fmt.name, "grad." + fn), getattr(accurate.grad, fn)(x, grad_output=g), getattr(exact.grad, fn)(x, grad_output=g), fmt)
        except PrecisionExhausted:
            pass
    n, c = shape
    xr = round_to_format(rng.standard_normal(shape) * [1, 30, 1e4][it % 3], fmt)
    for probs in (False, True):
        tgt = round_to_format(rng.dirichlet(np.ones(c), n), fmt) if probs else rng.integers(0, c, n)
        kw = {"reduction": ["none", "mean", "sum"][it % 3], "label_smoothing": [0.0, 0.125, 1.0][(it // 3) % 3]}
        if rng.random() < .5: kw["weight"] = round_to_format(rng.random(c) + .25, fmt)
        g = rand(fmt, (n,) if kw["reduction"] == "none" else (), False)
        try:
            rec((fmt.name, "cross_entropy"), accurate.cross_entropy(xr, tgt, **kw), exact.cross_entropy(xr, tgt, **kw), fmt)
            rec((fmt.name, "grad.cross_entropy"), accurate.grad.cross_entropy(xr, tgt, grad_output=g, **kw), exact.grad.cross_entropy(xr, tgt, grad_output=g, **kw), fmt)
        except PrecisionExhausted:
            pass
    y = round_to_format(rng.random(shape), fmt)
    g = rand(fmt, shape, False)
    pw = round_to_format(rng.random(c) + .5, fmt) if it % 2 else None
    for fn, inp, a in (("binary_cross_entropy_with_logits", xr, {"pos_weight": pw}), ("binary_cross_entropy", round_to_format(rng.random(shape), fmt), {})):
        try:
            rec((fmt.name, fn), getattr(accurate, fn)(inp, y, reduction="none", **a), getattr(exact, fn)(inp, y, reduction="none", **a), fmt)
            rec((fmt.name, "grad." + fn), getattr(accurate.grad, fn)(inp, y, reduction="none", grad_output=g, **a), getattr(exact.grad, fn)(inp, y, reduction="none", grad_output=g, **a), fmt)
        except PrecisionExhausted:
            pass
    xx = xr.ravel(); xx = xx[np.abs(xx.astype(float)) < 2.0**64]
    gg = rand(fmt, xx.shape, False)
    for fn in ("sigmoid", "log_sigmoid", "softplus"):
        try:
            rec((fmt.name, fn), getattr(accurate, fn)(xx), getattr(exact, fn)(xx), fmt)
            rec((fmt.name, "grad." + fn), getattr(accurate.grad, fn)(xx, grad_output=gg), getattr(exact.grad, fn)(xx, grad_output=gg), fmt)
        except PrecisionExhausted:
            pass
# softmax on rows of 33-79 logits (the unshifted kernel of the fast path: the first row alone, the
# other three as a block), and the softmax gradient of logits closer than a double-double resolves.
for it in range(N // 5):
    for fmt in FORMATS[:2]:
        x = round_to_format(rng.standard_normal((4, int(rng.integers(33, 80)))) * [1, 3, 10, 30, 300][it % 5], fmt)
        got = np.concatenate([accurate.softmax(x[0])[None], accurate.softmax(x[1:])])
        rec((fmt.name, "softmax, rows of 33-79"), got, exact.softmax(x), fmt)
    n = int(rng.integers(3, 8))
    x = rng.integers(-3, 4, n).astype(float)
    k = rng.integers(0, n, 3)
    tiny = rng.choice([1e-40, 1e-300, 1e-322, 2.0**-52, 1e-20])
    x[k] = np.array([0.0, tiny, tiny * rng.integers(1, 4)]) + x[k[0]] * rng.integers(0, 2)
    g = rng.integers(-2, 3, n).astype(float)
    rec((FORMATS[0].name, "grad.softmax, near-equal logits"), accurate.grad.softmax(x[None], grad_output=g[None]),
        exact.grad.softmax(x[None], grad_output=g[None]), FORMATS[0])
names = sorted({k[1] for k in worst}, key=lambda s: (s.startswith("grad."), s))
print("| function | float64 | float32 | float16 | bfloat16 |")
print("|---|---|---|---|---|")
for nm in names:
    print(f"| {nm} | " + " | ".join(f"{worst[f, nm]:.3f}" if (f, nm) in worst else "-" for f in ("float64", "float32", "float16", "bfloat16")) + " |")
print()
print("| zero-sign errors | float64 | float32 | float16 | bfloat16 |")
print("|---|---|---|---|---|")
for nm in names:
    print(f"| {nm} | " + " | ".join(str(signs[f, nm]) if (f, nm) in signs else "-" for f in ("float64", "float32", "float16", "bfloat16")) + " |")
