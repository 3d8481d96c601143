"""``fangkong demo``."""

from __future__ import annotations


def demo() -> None:
    """Build the synthetic 淄博, replay March 2022 and serve the UI."""
    raise NotImplementedError
