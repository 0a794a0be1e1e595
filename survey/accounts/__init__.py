"""Who may do what: users and passwords, sessions, project membership and roles, API tokens."""
