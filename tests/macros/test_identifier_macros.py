"""The NIP and REGON SQL macros, run on PostgreSQL, against the shared vectors and stdnum."""

from __future__ import annotations

import csv

import pytest
from conftest import REFERENCE
from stdnum.pl import nip as stdnum_nip
from stdnum.pl import regon as stdnum_regon

VECTORS = REFERENCE / "nip_regon" / "nip_regon_vectors.csv"
INLINE = """
select
    value_raw,
    {{ normalize_nip('value_raw') }} as nip,
    {{ nip_checksum_ok(normalize_nip('value_raw')) }} as nip_ok,
    {{ normalize_regon('value_raw') }} as regon,
    {{ regon_checksum_ok(normalize_regon('value_raw')) }} as regon_ok
from vectors
"""


@pytest.fixture(scope="module")
def compiled_sql(pg_server, tmp_path_factory) -> str:
    """The macros as dbt renders them (compiling needs no relation to exist)."""
    from loaders.dbt import run_dbt

    settings = pg_server
    target = str(tmp_path_factory.mktemp("dbt-compile"))
    result = run_dbt(
        ["compile", "--inline", INLINE, "--target-path", target, "--log-path", target, "--quiet"],
        settings,
    )
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


@pytest.fixture
def macro_results(conn, compiled_sql) -> dict[str, tuple]:
    with open(VECTORS, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    conn.execute("create temporary table vectors (kind text, value_raw text, expected text)")
    with conn.cursor().copy("copy vectors from stdin") as copy:
        for row in rows:
            copy.write_row((row["kind"], row["value_raw"], row["expected"]))
    results = conn.execute(compiled_sql.replace("from vectors", "from pg_temp.vectors")).fetchall()
    return {"rows": rows, "results": {value: rest for value, *rest in results}}


def test_sql_nip_check_agrees_with_stdnum_on_every_vector(macro_results):
    nip_rows = [row for row in macro_results["rows"] if row["kind"] == "NIP"]
    assert len(nip_rows) > 200
    for row in nip_rows:
        _nip, nip_ok, _regon, _regon_ok = macro_results["results"][row["value_raw"]]
        assert nip_ok is stdnum_nip.is_valid(row["value_raw"]), row
        if nip_ok:
            assert _nip == stdnum_nip.compact(row["value_raw"])


def test_sql_regon_check_agrees_with_stdnum_on_every_vector(macro_results):
    regon_rows = [row for row in macro_results["rows"] if row["kind"] == "REGON"]
    assert len(regon_rows) > 100
    for row in regon_rows:
        _nip, _nip_ok, regon, regon_ok = macro_results["results"][row["value_raw"]]
        assert regon_ok is stdnum_regon.is_valid(row["value_raw"]), row
        if regon_ok:
            assert regon == stdnum_regon.compact(row["value_raw"])
