"""Tenancy fixtures: a workbench on the emulator whose store knows one admin (root), and
Postgres databases prepared as Supabase has them (``tests/core/store/conftest.py``)."""
from __future__ import annotations

import pytest

from core.identity import sync_admins
from tests.core.evals.conftest import evals_service
from tests.core.store.conftest import create_database, fresh_pg_url, pg_url  # noqa: F401 (fixtures)

ALICE, BOB, ROOT = "alice@example.com", "bob@example.com", "root@example.com"
ROWS = b"question,expected\nsay a,Echo: say a\nsay b,Echo: say b\n"


def make_bench(emulator, tmp_path, database_url=None, **parley):
    """A ``Workbench`` whose store lists ROOT as its one admin."""
    from core.evals.workbench import Workbench

    svc = evals_service(emulator, tmp_path, database_url, admins=[ROOT], **parley)
    sync_admins(svc.settings, svc.store)
    return Workbench(svc)


def alices_run(bench) -> str:
    """Alice's template ``qa``, dataset ``qs`` and a finished run on them; its id."""
    bench.save_template("qa", "{{ question }}", user=ALICE, service_type="xray")
    data = bench.upload_dataset(ROWS, "qs.csv", user=ALICE)
    run_id = bench.runner.start(bench.runner.plan("qa", data, ["claude", "gemini"], user_id=ALICE))
    bench.runner.execute_sync(run_id)
    return run_id


@pytest.fixture
def bench(emulator, tmp_path):
    made = make_bench(emulator, tmp_path)
    yield made
    made.service.close()
