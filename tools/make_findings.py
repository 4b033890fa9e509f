"""Measure every finding of the corpus and write ``src/softmax_oracle/findings/_corpus.py``.

The specs below (input, repro, kind, cause and fix) are the source; every
number of a record (the library's result, the correctly rounded and exact
values, ULP and relative error, condition number, version) is measured here
by running the repro against the installed library and the oracle, never
typed.  Run in a venv with torch 2.13.0, SciPy and JAX installed::

    python tools/make_findings.py            # prints a summary, writes the corpus
    python tools/make_findings.py --check-worst   # also confirms the float16 inputs are the worst of all 65,536
    python tools/make_findings.py --docs-only     # rewrites docs/findings.md and README's section from the corpus

The tests (``tests/test_findings.py``) recheck every written number against the oracle.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path

import ml_dtypes  # noqa: F401 - literals may name it
import numpy as np

from softmax_oracle.compare import literal
from softmax_oracle.findings._measure import measure
from softmax_oracle.findings._recheck import installed_version, run_repro
from softmax_oracle.findings._record import KINDS, Finding

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "softmax_oracle" / "findings" / "_corpus.py"
DOCS = ROOT / "docs" / "findings.md"
README = ROOT / "README.md"
README_HEADING = "## What the oracle found"
README_BEFORE = "## Hypothesis strategies"  # where the section goes the first time

f64, f32, f16 = np.float64, np.float32, np.float16


def hexes(values: list[float], dtype: type) -> str:
    """A Python list literal of the exact hex strings of ``values`` in ``dtype``."""
    return repr([float(v).hex() for v in np.array(values, dtype=dtype).astype(np.float64)])


@dataclass
class Spec:
    id: str
    library: str
    function: str
    dtype: str
    kind: str
    arguments: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    element: tuple[int, ...]
    repro: str
    cause: str
    fix: str


# --- repro templates: {x} is a list literal of hex strings ------------------------------------------

TORCH_VALUE = """import torch
x = torch.tensor(list(map(float.fromhex, {x})), dtype=torch.{dtype})
y = {call}
print(y[{i}].item().hex())
"""
TORCH_SCALAR = """import torch
x = torch.tensor(list(map(float.fromhex, {x})), dtype=torch.{dtype})
y = {call}
print(y.item().hex())
"""
TORCH_GRAD = """import torch
x = torch.tensor(list(map(float.fromhex, {x})), dtype=torch.{dtype}, requires_grad=True)
{call}.sum().backward()
print(x.grad[{i}].item().hex())
"""
SCIPY_VALUE = """import numpy as np
import scipy.special
x = np.array(list(map(float.fromhex, {x})), dtype=np.{dtype})
y = {call}
print(float(y[{i}]).hex())
"""
JAX_VALUE = """import jax
import jax.numpy as jnp
x = jnp.array(list(map(float.fromhex, {x})), dtype=jnp.{dtype})
y = {call}
print(float(y[{i}]).hex())
"""
JAX_SCALAR = """import jax
import jax.numpy as jnp
x = jnp.array(list(map(float.fromhex, {x})), dtype=jnp.{dtype})
y = {call}
print(float(y).hex())
"""
JAX_GRAD = """import jax
import jax.numpy as jnp
x = jnp.array(list(map(float.fromhex, {x})), dtype=jnp.{dtype})
g = jax.grad(lambda v: {call}.sum())(x)
print(float(g[{i}]).hex())
"""
JAX_VJP = """import jax
import jax.numpy as jnp
x = jnp.array(list(map(float.fromhex, {x})), dtype=jnp.{dtype})
_, vjp = jax.vjp({call}, x)
(g,) = vjp(jnp.array(list(map(float.fromhex, {go})), dtype=jnp.{dtype}))
print(float(g[{i}]).hex())
"""


def vector(values: list[float], dtype: type) -> str:
    return literal(np.array(values, dtype=dtype))


def spec(id: str, library: str, function: str, dtype: type, kind: str, values: list[float], template: str,
         call: str, *, element: int | None = 0, extra: tuple[str, ...] = (),
         options: tuple[tuple[str, str], ...] = (), go: list[float] | None = None,
         arguments: tuple[str, ...] | None = None, index: tuple[int, ...] | None = None,
         cause: str, fix: str) -> Spec:
    name = np.dtype(dtype).name
    repro = template.format(x=hexes(values, dtype), dtype=name, call=call, i=element,
                            go=hexes(go, dtype) if go is not None else "")
    if arguments is None:
        arguments = (vector(values, dtype),) + extra
    if index is None:
        index = () if element is None else (element,)
    return Spec(id, library, function, name, kind, arguments, options, index, repro, " ".join(cause.split()), " ".join(fix.split()))


NORMAL, RANGE, CLASS, SIGN = KINDS

LOG_SOFTMAX_CAUSE = """{lib} computes ``log_softmax(x)_i = (x_i - m) - log(S)`` with ``m = max(x)`` and
``S = sum_j exp(x_j - m)`` rounded to {dtype}.  With one dominant logit, ``S = 1 + T`` where
``T = {t}`` carries all the information, and rounding ``S`` to {dtype} keeps {kept} of ``T``:
``log(S)`` has an absolute error of up to half an ULP of 1, {ulps} of the tiny result.  The
problem's condition number is only {cond}: every lost digit is the formula's."""
LOG_SOFTMAX_FIX = """Split off the maximum's own term: ``log(S) = log1p(T)`` with ``T = sum_{j != argmax}
exp(x_j - m)`` summed without the 1, so ``log_softmax(x)_i = (x_i - m) - log1p(T)``; SciPy's
``logsumexp`` does this since 1.15 (Blanchard, Higham & Higham 2021)."""

LSE_CAUSE = """``logsumexp(x) = m + log(sum_j exp(x_j - m))`` rounds the sum ``1 + exp(-{gap})`` to
{dtype} first; ``exp(-{gap})`` is below half an ULP of 1, so the sum is exactly 1 and the result is
``m = 0``, while the exact value is ``exp(-{gap})`` to first order.  The condition number is
{cond_word}: the loss is the formula's."""
LSE_FIX = """``m + log1p(T)`` with ``T = sum_{j != argmax} exp(x_j - m)`` (the maximum's term, exactly 1, kept
out of the sum), as ``scipy.special.logsumexp`` does since SciPy 1.15."""

GRAD_SIGMOID_CAUSE = """The gradient is computed from the rounded output ``y = sigmoid(x)`` as ``y (1 - y)``.  For
large ``x`` the output ``y`` is within a few ULP of 1 (or is 1), so ``1 - y`` is a difference of
nearly equal numbers: its absolute error is half an ULP of 1, and relative to the true
``1 - y = sigmoid(-x) = {tail}`` that is {ulps}{ret}.  The condition number of the gradient
is about ``|x|``: the loss is the formula's, not the problem's."""
GRAD_SIGMOID_FIX = """Compute the gradient from ``x``, not from the rounded output:
``sigmoid'(x) = sigmoid(x) sigmoid(-x) = e / (1 + e)^2`` with ``e = exp(-|x|)``, which has no
cancellation for either sign of ``x``."""

SIGMOID_OVERFLOW_CAUSE = """``sigmoid(x) = 1 / (1 + exp(-x))`` evaluates ``exp(-x) = exp({ax})``, which overflows to ``inf``
in {dtype} for ``x < -{lim}``; ``1 / inf`` is 0.  The exact result, ``exp(x)`` to first order, is a
{dtype} subnormal ({exact}) down to ``x`` about ``{sub}``, so a whole range of representable results
is flushed to zero."""
SIGMOID_OVERFLOW_FIX = """For ``x < 0`` use ``e / (1 + e)`` with ``e = exp(x)``, which underflows gracefully into the
subnormals (gradual underflow) and never overflows; for ``x >= 0`` keep ``1 / (1 + exp(-x))``."""

FTZ_CAUSE = """XLA on CPU runs with flush-to-zero and denormals-are-zero: every subnormal result of an
operation becomes 0.  {what} is a {dtype} subnormal ({exact}), so JAX returns 0 although the
formula itself is stable (NumPy and PyTorch return the subnormal with the same formula)."""
FTZ_FIX = """No formula survives flush-to-zero.  Either accept 0 for results below the smallest normal
(document it), or compute in a wider format (float64) and round once to {dtype}, which keeps
gradual underflow."""


LSM32 = {"dtype": "float32", "t": "exp(-10) = 4.54e-5", "kept": "about 9 bits", "ulps": "thousands of ULP",
         "cond": "10"}


LSE_ROW = [10.0, 0.0]  # one dominant logit: exp(-10) = 4.54e-5 is all that distinguishes the result from 0

# the corpus, in the order of the docs within each kind
SPECS: list[Spec] = [
    spec("torch-log-softmax-dominant-logit-float32", "torch", "log_softmax", f32, NORMAL, LSE_ROW, TORCH_VALUE,
         "torch.nn.functional.log_softmax(x, dim=-1)",
         cause=LOG_SOFTMAX_CAUSE.format(lib="torch's CPU kernel", **LSM32),
         fix=LOG_SOFTMAX_FIX),
    spec("scipy-log-softmax-dominant-logit-float32", "scipy", "log_softmax", f32, NORMAL, LSE_ROW, SCIPY_VALUE,
         "scipy.special.log_softmax(x)",
         cause=LOG_SOFTMAX_CAUSE.format(lib="``scipy.special.log_softmax``", **LSM32),
         fix=LOG_SOFTMAX_FIX.replace("SciPy's ``logsumexp`` does this since 1.15",
                                     "SciPy's own ``logsumexp`` already does this since 1.15, ``log_softmax`` "
                                     "does not")),
    spec("scipy-log-softmax-dominant-logit-float64", "scipy", "log_softmax", f64, NORMAL, [40.0, 0.0],
         SCIPY_VALUE, "scipy.special.log_softmax(x)",
         cause=LOG_SOFTMAX_CAUSE.format(lib="``scipy.special.log_softmax``", dtype="float64", t="exp(-40) = 4.25e-18",
                                        kept="nothing", ulps="as large as the whole", cond="40")
         + " Here ``S`` rounds to exactly 1 and the result is ``0.0``: not one digit is right.",
         fix=LOG_SOFTMAX_FIX.replace("SciPy's ``logsumexp`` does this since 1.15",
                                     "SciPy's own ``logsumexp`` already does this since 1.15, ``log_softmax`` "
                                     "does not")),
    spec("jax-log-softmax-dominant-logit-float32", "jax", "log_softmax", f32, NORMAL, LSE_ROW, JAX_VALUE,
         "jax.nn.log_softmax(x)",
         cause=LOG_SOFTMAX_CAUSE.format(lib="``jax.nn.log_softmax``", **LSM32),
         fix=LOG_SOFTMAX_FIX),
    spec("torch-logsumexp-dominant-float64", "torch", "logsumexp", f64, NORMAL, [0.0, -40.0], TORCH_SCALAR,
         "torch.logsumexp(x, dim=-1)", element=None,
         cause=LSE_CAUSE.format(gap=40, dtype="float64", cond_word="40"), fix=LSE_FIX),
    spec("jax-logsumexp-dominant-float32", "jax", "logsumexp", f32, NORMAL, [0.0, -20.0], JAX_SCALAR,
         "jax.nn.logsumexp(x)", element=None,
         cause=LSE_CAUSE.format(gap=20, dtype="float32", cond_word="20"), fix=LSE_FIX),
    spec("torch-softplus-threshold-float64", "torch", "softplus", f64, NORMAL, [20.5], TORCH_VALUE,
         "torch.nn.functional.softplus(x)",
         cause="""``torch.nn.functional.softplus`` has ``threshold=20``: for ``x > 20`` it returns ``x`` itself,
         dropping ``log1p(exp(-x)) = 1.25e-9`` at ``x = 20.5``.  That is about 350,000 float64 ULP, and the
         error is the same in every float64 computation that uses the default (the cutoff is meant for
         float32, where ``exp(-20)`` is below half an ULP of 20).  The problem is perfectly
         conditioned.""",
         fix="""``softplus(x) = max(x, 0) + log1p(exp(-|x|))`` for every ``x``: no overflow and no threshold; or a
         threshold chosen per format (``x > 37`` for float64, where ``exp(-x)`` drops below half an ULP
         of ``x``)."""),
    spec("torch-grad-softplus-threshold-float64", "torch", "grad.softplus", f64, NORMAL, [20.5], TORCH_GRAD,
         "torch.nn.functional.softplus(x)",
         cause="""Past ``threshold=20`` softplus is the identity, so autograd returns its gradient, exactly 1.  The
         true gradient is ``sigmoid(20.5) = 1 - 1.25e-9``: 1 is about 11 million float64 ULP away
         (the spacing below 1 is ``2**-53``).  Every float64 training step that passes through
         softplus with a pre-activation above 20 gets this gradient.""",
         fix="""``d softplus / dx = sigmoid(x)``, computed as ``1 / (1 + exp(-x))`` for ``x >= 0`` (no threshold);
         or a float64 threshold of 37."""),
    spec("torch-grad-sigmoid-cancellation-float32", "torch", "grad.sigmoid", f32, NORMAL, [15.0], TORCH_GRAD,
         "torch.sigmoid(x)",
         cause=GRAD_SIGMOID_CAUSE.format(tail="3.06e-7", ulps="a relative error of 17%", ret=""),
         fix=GRAD_SIGMOID_FIX),
    spec("jax-grad-sigmoid-cancellation-float32", "jax", "grad.sigmoid", f32, NORMAL, [15.0], JAX_GRAD,
         "jax.nn.sigmoid(v)",
         cause=GRAD_SIGMOID_CAUSE.format(tail="3.06e-7", ulps="a relative error of 17%", ret="").replace(
             "The gradient", "``jax.nn.sigmoid`` is ``lax.logistic``, whose derivative rule"),
         fix=GRAD_SIGMOID_FIX),
    spec("torch-grad-sigmoid-float16", "torch", "grad.sigmoid", f16, NORMAL, [float.fromhex("0x1.0a4p+3")],
         TORCH_GRAD, "torch.sigmoid(x)",
         cause=GRAD_SIGMOID_CAUSE.format(tail="2.43e-4", ulps="a relative error of 100%",
                                         ret=": ``y`` rounds to exactly 1 and the gradient is 0.  This input "
                                             "is the worst of all float16 inputs (65,536 bit patterns)"),
         fix=GRAD_SIGMOID_FIX),
    spec("jax-grad-sigmoid-float16", "jax", "grad.sigmoid", f16, NORMAL, [float.fromhex("0x1.e8p+2")],
         JAX_GRAD, "jax.nn.sigmoid(v)",
         cause=GRAD_SIGMOID_CAUSE.format(tail="4.88e-4", ulps="a relative error of 100%",
                                         ret=": ``y`` rounds to exactly 1 and the gradient is 0.  This input "
                                             "is the worst of all float16 inputs (65,536 bit patterns)").replace(
             "The gradient", "``jax.nn.sigmoid`` is ``lax.logistic``, whose derivative rule"),
         fix=GRAD_SIGMOID_FIX),
    spec("torch-grad-cross-entropy-dominant-float32", "torch", "grad.cross_entropy", f32, NORMAL, LSE_ROW,
         """import torch
x = torch.tensor([list(map(float.fromhex, {x}))], dtype=torch.{dtype}, requires_grad=True)
torch.nn.functional.cross_entropy(x, torch.tensor([0]), reduction='sum').backward()
print(x.grad[0, {i}].item().hex())
""", "", element=0,
         arguments=(literal(np.array([LSE_ROW], dtype=f32)), literal(np.array([0]))),
         options=(("reduction", "'sum'"),), index=(0, 0),
         cause="""The gradient of cross-entropy is ``softmax(x) - onehot(t)``; torch forms it as
         ``exp(log_softmax(x)) - 1`` at the target.  When the target's logit dominates, that is a
         difference of nearly equal numbers: ``exp(log_softmax(x)_t)`` is about ``1 - 4.54e-5``,
         known to half an ULP of 1 (and ``log_softmax`` itself is off, see
         torch-log-softmax-dominant-logit-float32), so the small gradient ``-4.54e-5`` keeps about
         9 correct bits.  This is the gradient of every well-classified example.""",
         fix="""At the target (and any index of the maximum) use ``softmax(x)_t - 1 = -T / (1 + T)`` with
         ``T = sum_{j != t} exp(x_j - x_t)`` when ``x_t`` is the maximum: the subtraction of 1 never
         happens."""),
    spec("jax-grad-softmax-onehot-float32", "jax", "grad.softmax", f32, NORMAL, LSE_ROW, JAX_VJP,
         "jax.nn.softmax", options=(("grad_output", vector([1.0, 0.0], f32)),), go=[1.0, 0.0],
         cause="""``jax.nn.softmax``'s custom JVP is ``y * (g - sum(y * g))`` with the rounded output ``y``.  For a
         cotangent picking the dominant class, element 0 is ``y_0 (1 - y_0)`` with ``y_0 = 1 - 4.54e-5``
         rounded to float32: ``1 - y_0`` cancels and keeps about 9 bits of the true ``4.54e-5``.""",
         fix="""``1 - y_i = sum_{j != i} y_j``: accumulate the other probabilities instead of subtracting from 1
         (or use ``-T / (1 + T)`` as for cross-entropy)."""),
    spec("torch-sigmoid-overflow-float32", "torch", "sigmoid", f32, RANGE, [-100.0], TORCH_VALUE,
         "torch.sigmoid(x)",
         cause=SIGMOID_OVERFLOW_CAUSE.format(ax=100, dtype="float32", lim="88.7", exact="3.78e-44",
                                             sub="-103.3"),
         fix=SIGMOID_OVERFLOW_FIX),
    spec("scipy-expit-overflow-float64", "scipy", "sigmoid", f64, RANGE, [-740.0], SCIPY_VALUE,
         "scipy.special.expit(x)",
         cause=SIGMOID_OVERFLOW_CAUSE.format(ax=740, dtype="float64", lim="709.8", exact="4.2e-322",
                                             sub="-744.4"),
         fix=SIGMOID_OVERFLOW_FIX),
    spec("jax-softmax-flush-to-zero-float32", "jax", "softmax", f32, RANGE, [0.0, -100.0], JAX_VALUE,
         "jax.nn.softmax(x)", element=1,
         cause=FTZ_CAUSE.format(what="``exp(-100)``", dtype="float32", exact="3.78e-44"),
         fix=FTZ_FIX.format(dtype="float32")),
    spec("jax-softplus-flush-to-zero-float32", "jax", "softplus", f32, RANGE, [-90.0], JAX_VALUE,
         "jax.nn.softplus(x)",
         cause=FTZ_CAUSE.format(what="``softplus(-90) = log1p(exp(-90))``, about ``exp(-90)``,",
                                dtype="float32", exact="8.19e-40"),
         fix=FTZ_FIX.format(dtype="float32")),
    spec("torch-log-sigmoid-zero-sign-float64", "torch", "log_sigmoid", f64, SIGN, [800.0], TORCH_VALUE,
         "torch.nn.functional.logsigmoid(x)",
         cause="""``log_sigmoid(x) = -log1p(exp(-x))`` is negative for every finite ``x``; at ``x = 800`` it is
         ``-exp(-800)``, below the smallest subnormal, so the correctly rounded result is ``-0.0``.
         torch computes ``min(x, 0) - log1p(exp(-|x|))`` = ``0 - 0`` = ``+0.0``: the sign says the
         log-probability is not below 0, i.e. a probability of at least 1.  Harmless in a sum, visible
         to ``copysign``, ``signbit`` and ``1/x``.""",
         fix="""Write it as ``-(max(-x, 0) + log1p(exp(-|x|)))`` = ``-softplus(-x)``: the negation comes last, so
         an underflowed ``+0`` becomes ``-0``.  SciPy's ``log_expit`` and JAX return ``-0.0``."""),
    spec("torch-kl-div-masked-input-nan-float32", "torch", "kl_div", f32, CLASS, [-np.inf], TORCH_VALUE,
         "torch.nn.functional.kl_div(x, torch.zeros_like(x), reduction='none')",
         extra=(vector([0.0], f32),), options=(("reduction", "'none'"),),
         cause="""``kl_div`` computes ``xlogy(t, t) - t * x``.  A masked class has log-probability ``x = -inf``
         (``log_softmax`` of a ``-inf`` logit) and target probability ``t = 0``; its KL term is 0 by
         the convention ``0 log 0 = 0`` that ``xlogy`` itself implements, but ``t * x = 0 * -inf`` is
         NaN, so one masked class turns the whole loss into NaN.""",
         fix="""Take the term as 0 wherever ``t = 0``: ``where(t > 0, t * (log(t) - x), 0)`` (the ``where``
         must select before the product, and its gradient masked the same way)."""),
    spec("torch-kl-div-log-target-zero-nan-float32", "torch", "kl_div", f32, CLASS, [-1.0], TORCH_VALUE,
         "torch.nn.functional.kl_div(x, torch.full_like(x, -float('inf')), reduction='none', log_target=True)",
         extra=(vector([-np.inf], f32),), options=(("reduction", "'none'"), ("log_target", "True")),
         cause="""With ``log_target=True`` the pointwise term is ``exp(t) * (t - x)``.  A class the target gives
         probability 0 has ``t = log 0 = -inf``: ``exp(t) = 0`` and ``t - x = -inf``, and the product
         ``0 * -inf`` is NaN where the term is 0.  Any target distribution with a zero, given as
         log-probabilities, makes the loss NaN.""",
         fix="""``where(t == -inf, 0, exp(t) * (t - x))``, selecting before the product (and the same mask in the
         gradient)."""),
    spec("torch-cross-entropy-soft-target-masked-nan-float32", "torch", "cross_entropy", f32, CLASS,
         [0.0, -np.inf], """import torch
x = torch.tensor([list(map(float.fromhex, {x}))], dtype=torch.{dtype})
y = torch.nn.functional.cross_entropy(x, torch.tensor([[1.0, 0.0]]), reduction='none')
print(y[{i}].item().hex())
""", "", arguments=(literal(np.array([[0.0, -np.inf]], dtype=f32)), literal(np.array([[1.0, 0.0]], dtype=f32))),
         options=(("reduction", "'none'"),),
         cause="""With class-probability targets torch computes ``-sum_j t_j * log_softmax(x)_j``.  A masked class
         (logit ``-inf``, the usual way to forbid a token) has ``log_softmax = -inf``; the target gives
         it probability 0, so its term is 0 by ``0 log 0 = 0``, but ``0 * -inf`` is NaN: label
         smoothing or soft labels over a masked vocabulary give a NaN loss although the exact loss here
         is 0.  (Index targets take another path and are right.)""",
         fix="""Sum only the classes the target supports: ``-sum_j where(t_j > 0, t_j * log_softmax(x)_j, 0)``
         (``xlogy``'s convention), with the same mask in the gradient."""),
    spec("torch-bce-with-logits-cancellation-float32", "torch", "binary_cross_entropy_with_logits", f32, NORMAL,
         [-20.0], TORCH_VALUE,
         "torch.nn.functional.binary_cross_entropy_with_logits(x, torch.zeros_like(x), reduction='none')",
         extra=(vector([0.0], f32),), options=(("reduction", "'none'"),),
         cause="""torch computes ``(1 - t) * x - log_sigmoid(x)``.  For a confident correct prediction
         (``t = 0``, ``x = -20``) that is ``-20 - (-20 - 2.06e-9)``: ``log_sigmoid(-20)`` rounds to
         ``-20`` in float32 and the two terms cancel to 0, while the loss is ``softplus(-20) =
         2.06e-9``.  Every digit is lost although the problem's condition number is 20; in float64 the
         same input keeps only about 31 of 53 bits.""",
         fix="""``t * softplus(-x) + (1 - t) * softplus(x)`` with ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``:
         no difference of large terms for any ``t`` in [0, 1] (``pos_weight`` multiplies the first
         term)."""),
    spec("torch-bce-with-logits-infinite-logit-nan-float32", "torch", "binary_cross_entropy_with_logits", f32,
         CLASS, [np.inf], TORCH_VALUE,
         "torch.nn.functional.binary_cross_entropy_with_logits(x, torch.ones_like(x), reduction='none')",
         extra=(vector([1.0], f32),), options=(("reduction", "'none'"),),
         cause="""``(1 - t) * x - log_sigmoid(x)`` at ``x = +inf``, ``t = 1`` is ``0 * inf - 0`` = NaN; the loss
         of a prediction that is certain and right is ``softplus(-inf) = 0`` (and ``x = -inf`` with
         ``t = 0`` gives ``-inf - (-inf)`` = NaN the same way).  An overflowed logit poisons the batch.""",
         fix="""``t * softplus(-x) + (1 - t) * softplus(x)``, which is 0 at both infinite corners and ``+inf``
         at the wrong ones."""),
]


def record(s: Spec) -> Finding:
    version = installed_version(s.library)
    if version is None:
        raise SystemExit(f"{s.library} is not installed: cannot measure {s.id}")
    got = run_repro(s.repro, name=f"<finding {s.id}>")
    m = measure(s.function, s.arguments, s.options, s.element, got, s.dtype)
    return Finding(id=s.id, library=s.library, version_measured=version, function=s.function, dtype=s.dtype,
                   kind=s.kind, arguments=s.arguments, options=s.options, element=s.element, repro=s.repro,
                   got=got.hex(), rounded=m.rounded, exact=m.exact, ulp_error=m.ulp_error,
                   relative_error=m.relative_error, condition=m.condition, cause=s.cause, fix=s.fix)


def _source_of(value: object, indent: str) -> str:
    if isinstance(value, float) and not np.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, str) and "\n" in value:
        lines = value.splitlines(keepends=True)
        return "(\n" + "".join(f"{indent}    {line!r}\n" for line in lines) + f"{indent})"
    if isinstance(value, str) and len(value) > 90:
        chunks = textwrap.wrap(value, 88, drop_whitespace=False, break_on_hyphens=False)
        return "(\n" + "".join(f"{indent}    {c!r}\n" for c in chunks) + f"{indent})"
    return repr(value)


def source(findings: list[Finding]) -> str:
    head = '''"""The findings corpus (generated by ``tools/make_findings.py``: edit the specs there, then rerun it).

Every number here was measured by running the repro against the library
version named in the record and the oracle; ``tests/test_findings.py``
checks them against the oracle again.
"""

from __future__ import annotations

from ._record import Finding

__all__ = ["FINDINGS"]

FINDINGS: tuple[Finding, ...] = (
'''
    body = []
    for f in findings:
        parts = [f"        {fl.name}={_source_of(getattr(f, fl.name), '        ')}," for fl in fields(f)]
        body.append("    Finding(\n" + "\n".join(parts) + "\n    ),\n")
    return head + "".join(body) + ")\n"


def check_worst() -> None:
    """Confirm the float16 grad.sigmoid inputs are the worst of all finite float16 inputs."""
    from softmax_oracle.compare import compare

    x = np.arange(65536, dtype=np.uint16).view(np.float16)
    x = x[np.isfinite(x)]
    for candidate in ("torch", "jax"):
        c = compare(candidate, "sigmoid", x, grad=True)
        print(f"{candidate} grad.sigmoid float16, all {x.size} finite inputs: worst {c.max_ulp_error:.6g} ULP "
              f"at {float(x[c.worst_index]).hex()}", file=sys.stderr)


def write_docs() -> None:
    """Write ``docs/findings.md`` and README's "What the oracle found" section from the corpus as imported."""
    import importlib

    import softmax_oracle.findings._corpus as corpus
    from softmax_oracle.findings import docs_page, readme_section

    findings = importlib.reload(corpus).FINDINGS
    DOCS.write_text(docs_page(findings))
    text = README.read_text()
    section = readme_section(findings)
    if README_HEADING in text:
        start = text.index(README_HEADING)
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end + 1
        text = text[:start] + section + "\n" + text[end:] if end < len(text) else text[:start] + section
    else:
        where = text.index(README_BEFORE)
        text = text[:where] + section + "\n" + text[where:]
    README.write_text(text)
    print(f"wrote {DOCS} and README's section", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-worst", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="Measure and print; do not write the corpus.")
    parser.add_argument("--docs-only", action="store_true", help="Only rewrite the docs from the corpus.")
    options = parser.parse_args()
    if options.docs_only:
        write_docs()
        return
    import torch

    torch.set_num_threads(1)
    findings = sorted((record(s) for s in SPECS), key=lambda f: KINDS.index(f.kind))  # stable: spec order within a kind
    for f in findings:
        cond = "-" if f.condition is None else f"{f.condition:.3g}"
        print(f"{f.id:45s} {f.kind:38s} got {f.got:24s} rounded {f.rounded:24s} "
              f"{f.ulp_error:.6g} ULP rel {f.relative_error:.3g} cond {cond}", file=sys.stderr)
    if options.check_worst:
        check_worst()
    if not options.dry_run:
        OUT.write_text(source(findings))
        print(f"wrote {OUT} ({len(findings)} findings)", file=sys.stderr)
        write_docs()


if __name__ == "__main__":
    main()
