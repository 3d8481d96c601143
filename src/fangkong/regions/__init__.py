"""Divisions (GB/T 2260), reporting units (功能区) and district boundaries."""
