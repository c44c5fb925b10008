"""Test support shared by all services: the pytest plugin with one fixture per real server."""
