"""The demo's example files replayed at three cadences give byte-identical dumps of crm.*.

The batches are the demo's steps (loaders/demo.py STEPS), in its order: built after
every step as ``crm7 demo`` does, loaded all and built once, and built after every step
then rebuilt with ``--full-refresh``.
"""

from __future__ import annotations

import pytest
from cadence_harness import XmlFile, assert_same_crm, compare_cadences
from conftest import EXAMPLES

from loaders.demo import STEPS

pytestmark = pytest.mark.slow


def demo_batches() -> list[tuple[XmlFile, ...]]:
    return [
        tuple(XmlFile(name, (EXAMPLES / name).read_text(encoding="utf-8")) for name in files)
        for _title, files in STEPS
    ]


def test_demo_examples_give_the_same_crm_at_every_cadence(pg_server, tmp_path):
    batches = demo_batches()
    assert sum(len(batch) for batch in batches) == len(list(EXAMPLES.glob("*.xml")))

    dumps = compare_cadences(pg_server, batches, tmp_path, cut=len(batches))

    assert_same_crm(dumps)
