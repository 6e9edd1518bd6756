"""``crm7 check``: data quality for pipelines.

- :mod:`.runner` runs the dbt data tests and source freshness on the user's database;
- :mod:`.results` holds the typed results of a run, its verdict and exit code;
- :mod:`.junit` writes JUnit XML (shared with ``crm7 validate --junit``);
- :mod:`.summary` writes the Markdown summary;
- :mod:`.history` appends every run to ``audit.crm7_check_runs`` / ``crm7_check_results``.
"""
