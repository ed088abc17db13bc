"""The repository's pytest set-up: the YAML cases beside a KB run through ``policykb.testing``.

Registered here rather than with ``-p`` in addopts: a ``-p`` plugin is imported while pytest
parses its options, before pytest-cov starts coverage, so the package's import-time code
(policykb/__init__.py and all it imports) would count as never run.
"""

pytest_plugins = ["policykb.testing"]
