"""identity: accounts, activation codes, login, second factor, tokens, roles scoped to a Jobcenter."""
