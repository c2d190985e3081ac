"""HTTP policies that keep the enrichment tests fast yet still prove retries and timeouts."""

from __future__ import annotations

from koito_assets.enrich.http import HttpPolicy

# Short timeouts and back-offs keep failure tests fast; two retries still prove retrying.
FAST = HttpPolicy(
    timeout_s=0.3, max_retries=2, backoff_s=0.01, max_backoff_s=0.05, max_retry_after_s=5
)
# For timeout tests: one retry of a short timeout proves both without spending a second.
TIMING_OUT = HttpPolicy(timeout_s=0.15, max_retries=1, backoff_s=0.01, max_backoff_s=0.05)
SLOW_S = 0.5  # how late a "slow" fake answers: well past TIMING_OUT's timeout
FAST_RATE = 500.0  # requests per second: effectively unlimited, unless a test measures the limiter
