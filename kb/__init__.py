"""The knowledge base: policies as validated data (see docs/kb.md).

``load_policy(folder)`` reads one policy's YAML files strictly and returns a
``Policy``; ``policy_dir(name)`` finds a policy shipped with the package.
"""

from .loader import DEFAULT_POLICY, load_policy, policy_dir, shipped_policies
from .model import Policy

__all__ = ["DEFAULT_POLICY", "Policy", "load_policy", "policy_dir", "shipped_policies"]
