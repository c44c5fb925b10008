"""Code common to all services of the Jobcenter portal: config, messaging, logging, errors, fixtures.

It holds no business rules.
"""
