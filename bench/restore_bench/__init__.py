"""Helpers of ``bench/dynamodb_restore.py``: the stand-in deployment, the two ways to restore it, the report.

Not part of the collection (``bench`` belongs in galaxy.yml's build_ignore) and not a test suite:
nothing here asserts, it measures.
"""
