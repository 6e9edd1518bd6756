"""Data quality reports for pipelines.

- :mod:`.results` holds the typed results of a check run, its verdict and exit code;
- :mod:`.junit` writes JUnit XML (``crm7 validate --junit``);
- :mod:`.validation` gives ``crm7 validate --format json`` its JSON.
"""
