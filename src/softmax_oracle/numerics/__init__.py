"""Shared floating-point numerics: error-free transformations, double-double and scaled arithmetic.

Pure math on float64 NumPy arrays, imported by both the accurate NumPy tier
(:mod:`softmax_oracle.numpy_impl`, which makes no accuracy claims) and the
oracle's certified fast phase (which does: every bound used there is proven in
``docs/error-analysis.md``).

Modules
-------
eft
    TwoSum, Dekker's TwoProduct, Veltkamp's split, exact extraction of sums.
double_double
    Double-double arithmetic and a 106-bit scaled exponential.
scaled
    Double-doubles with their own integer exponent (no under- or overflow).
cast
    One rounding of float64 arrays to float32, float16 and bfloat16.
underflow
    Row sums of exponential terms below the float64 range, and stand-ins that keep the
    sign of a term that underflows even in scaled arithmetic (the accurate tier's).
lse_refine
    float64 logsumexp refined in double-double where ``m + log S`` cancels (the accurate tier's).
enclosure
    The certified layer's value type, ``Enclosure(hi, lo, rad, exp)``, and
    ``round_enclosure``, the rounding test of the fast phase.
arith
    Enclosure arithmetic with proven bounds in two tiers behind one interface
    (``arith_for(fmt)``: ``DOUBLE`` or ``DOUBLE_DOUBLE``).
exp_kernel, transcendental, sums
    The range-reduced exponential kernels, exp/expm1/log/log1p on enclosures,
    and certified sums along an axis.

The proofs are in ``docs/error-analysis.md``.
"""
