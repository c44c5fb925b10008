"""gateway: the only HTTP entry - citizen and caseworker web clients, the JSON API."""
