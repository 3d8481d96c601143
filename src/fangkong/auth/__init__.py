"""Users, roles, jurisdictions, sign-in, API tokens and the audit log."""
