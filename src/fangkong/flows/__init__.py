"""Workflows that span domains (Netflix Dispatch's ``flows.py``).

A domain's service never calls a domain above it; when something that happens below must
set off work above — a positive registered converts the person's quarantine order and ends
their self-report link; a testing round applied makes cases, recalls and quarantine tests —
the flow here calls each domain's service in turn, in the caller's transaction. APIs,
pages, the CLI and the demo call the flow, not the services underneath.
"""
