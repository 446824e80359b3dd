"""Settings for the whole suite."""

from __future__ import annotations

import os

from hypothesis import settings

# Property tests must not fail on a slow or busy machine (hypothesis's 200 ms deadline), and
# in CI they run the same examples every time: a failure there is reproducible, not luck.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
