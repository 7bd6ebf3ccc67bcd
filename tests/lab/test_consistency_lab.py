"""The consistency check against the lab: equal databases pass (make check), a row only one node
has is named with its table, and the command exits 1."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.replication]
REPO = Path(__file__).resolve().parents[2]
TABLE = "queuemetrics.qmha_check_rows"


def check(lab) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drill.consistency", lab.inventory], cwd=REPO, env=lab.env,
                          capture_output=True, text=True, timeout=300)


def test_equal_databases_pass_and_a_row_on_one_node_only_is_named(lab):
    lab.sql("node-a", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY, v VARCHAR(16))")
    lab.wait_for(lambda: lab.sql("node-b", f"SELECT COUNT(*) FROM {TABLE}") == [["0"]], timeout=30,
                 what="the table on node B")
    try:
        equal = check(lab)
        assert equal.returncode == 0, equal.stdout + equal.stderr
        assert " 0 differ" in equal.stdout
        lab.sql("node-b", f"SET SESSION sql_log_bin = 0; INSERT INTO {TABLE} VALUES (1, 'only-on-b')")
        differ = check(lab)
        assert differ.returncode == 1, differ.stdout + differ.stderr
        assert "DIFFERS qmha_check_rows: node-a " in differ.stdout and "1 differ" in differ.stdout
    finally:
        lab.sql("node-a", f"DROP TABLE IF EXISTS {TABLE}")
    lab.wait_for(lambda: lab.sql("node-b", f"SELECT COUNT(*) FROM information_schema.tables WHERE "
                                          f"table_schema = 'queuemetrics' AND table_name = 'qmha_check_rows'")
                 == [["0"]], timeout=30, what="the table gone on node B")
