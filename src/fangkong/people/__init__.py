"""Persons, households, addresses (community, compound, building), workplaces, venues."""
