"""Shared pytest configuration: the stand-in fixtures live in ``tests/fixtures``.

Each fixture module starts its stand-in once per session (or connects to a real endpoint when
the matching ``PITR_TEST_*`` environment variables are set; see README "Testing against real
endpoints").
"""
pytest_plugins = [
    "fixtures.common",
    "fixtures.aws",
    "fixtures.kube",
    "fixtures.azure",
    "fixtures.scalar_admin",
    "fixtures.sql_servers",
]
