"""The contract model: which contracts exist, how each maps onto raw tables, and what the
loader adds to them.

- ``model``: Contract, Table, Column, read from the XSDs in ``contracts/`` (cached);
- ``lineage``: the loader's lineage columns and its registry tables (raw.loads, raw.rejects);
- ``facets``: what a contract allows in one field (lengths, digits, values), for writers;
- ``docs``: the client-facing Markdown pages (``crm7 contract docs``);
- ``sources``: dbt's sources of the raw tables (``crm7 contract sources``).
"""

from loaders.contracts.lineage import (
    LINEAGE_COLUMNS,
    REGISTRY_TABLES,
    LineageColumn,
    LoaderColumn,
    RegistryTable,
)
from loaders.contracts.model import (
    ANNOTATIONS_NS,
    XSD_NS,
    Column,
    Contract,
    Table,
    all_contracts,
    contract_for_namespace,
    contracts_dir,
    read_contract,
    snake_case,
)

__all__ = [
    "ANNOTATIONS_NS",
    "LINEAGE_COLUMNS",
    "REGISTRY_TABLES",
    "XSD_NS",
    "Column",
    "Contract",
    "LineageColumn",
    "LoaderColumn",
    "RegistryTable",
    "Table",
    "all_contracts",
    "contract_for_namespace",
    "contracts_dir",
    "read_contract",
    "snake_case",
]
