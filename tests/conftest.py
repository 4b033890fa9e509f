"""Hypothesis profiles: ``ci`` (bounded, derandomized) and ``dev`` (more examples).

``CI=true`` selects ``ci``; ``HYPOTHESIS_PROFILE`` overrides.  Deadlines are
off: an oracle call at a raised precision can take milliseconds.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
