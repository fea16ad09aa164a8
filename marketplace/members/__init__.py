"""Members, their users, API tokens and roles."""
