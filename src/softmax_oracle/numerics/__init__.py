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
"""
