"""Policy is data: protocol editions as TOML files, loaded into typed models."""

from fangkong.policy.loader import available_editions, load_policy
from fangkong.policy.model import Policy, RuleRef

__all__ = ["Policy", "RuleRef", "available_editions", "load_policy"]
