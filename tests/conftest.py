"""Hypothesis profiles: ``ci`` (bounded, derandomized) and ``dev`` (more examples).

Registered by :func:`softmax_oracle.strategies.register_profiles`: ``CI=true``
selects ``ci``; ``HYPOTHESIS_PROFILE`` overrides.  Deadlines are off: an
oracle call at a raised precision can take milliseconds.
"""

from softmax_oracle.strategies import register_profiles

register_profiles()

pytest_plugins = ["pytester"]  # tests/test_pytest_plugin.py and the filterwarnings check run inner pytest sessions
