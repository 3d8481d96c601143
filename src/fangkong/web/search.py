"""The one search box (written next)."""
