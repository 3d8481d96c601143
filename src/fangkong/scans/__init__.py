"""Venue scans (场所码): bulk import, live uploads buffered durably, the lake\x27s upkeep."""
