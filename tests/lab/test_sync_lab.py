"""configuration.properties sync in the lab: newest copy wins, within seconds (path units) or a
minute (cron alone); nothing is copied when nothing differs; bad copies are refused and logged;
the sync key can do nothing else."""

import shlex
import time

import pytest

from operations.phases.sync import KEY, KNOWN_HOSTS, SCRIPT
from tests.lab import PLATFORM

pytestmark = pytest.mark.lab

FILE = f"{PLATFORM.tomcat.webapps_dir}/queuemetrics/WEB-INF/configuration.properties"
BACKUPS = "/var/lib/qm-ha/sync/backups"


def wait_until(check, timeout: float, interval: float = 0.25) -> float | None:
    """Seconds until CHECK() is true, or None after TIMEOUT (bounded)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(interval)
    return None


def content(lab, node) -> str:
    return lab.on(node, f"cat {FILE}")


def backups(lab, node) -> int:
    return int(lab.on(node, f"ls {BACKUPS} | wc -l").strip())


def log_count(lab, node, text: str) -> int:
    """How many sync log lines on NODE contain TEXT."""
    return int(lab.on(node, f"journalctl -t qmha-sync --no-pager -o cat | grep -cF {shlex.quote(text)} || true").strip())


def logs_more(lab, node, text: str, before: int, timeout: float = 10) -> bool:
    """Whether NODE logs TEXT again after BEFORE lines (journald writes asynchronously: wait a little)."""
    return wait_until(lambda: log_count(lab, node, text) > before, timeout, interval=0.5) is not None


def write(lab, node, text: str, mtime: str | None = None) -> None:
    """Edit the file in place as an editor would, optionally setting its mtime (epoch seconds)."""
    lab.docker("exec", "-i", lab.nodes[node]["container"], "sh", "-c",
               f"cat > {FILE}" + (f" && touch -d @{mtime} {FILE}" if mtime else ""), input_text=text)


@pytest.fixture
def synced(lab):
    """Both nodes equal before the test; the original content back on both after it."""
    original = content(lab, "node-a")
    assert wait_until(lambda: content(lab, "node-b") == original, 70), "nodes differ before the test"
    yield lab
    write(lab, "node-a", original)
    assert wait_until(lambda: content(lab, "node-b") == original, 70), "original content did not come back"


def test_edit_on_a_reaches_b_within_seconds(synced):
    lab = synced
    text = content(lab, "node-a") + f"qmha.test.edit_a={time.time()}\n"
    write(lab, "node-a", text)
    seconds = wait_until(lambda: content(lab, "node-b") == text, 15)
    assert seconds is not None, "B did not get A's edit within 15 s"


def test_edit_on_b_later_than_a_wins_on_both(synced):
    lab = synced
    base = content(lab, "node-a")
    write(lab, "node-a", base + "qmha.test.winner=a\n")
    time.sleep(1.2)
    write(lab, "node-b", base + "qmha.test.winner=b\n")
    want = base + "qmha.test.winner=b\n"
    assert wait_until(lambda: content(lab, "node-a") == want and content(lab, "node-b") == want, 20)


def test_equal_content_makes_no_copy_and_no_backup(synced):
    lab = synced
    before = backups(lab, "node-b")
    copies = log_count(lab, "node-b", "took the copy")
    lab.on("node-a", f"touch {FILE}")  # newer mtime, same bytes
    lab.on("node-b", f"{SCRIPT} pull")
    assert backups(lab, "node-b") == before
    assert log_count(lab, "node-b", "took the copy") == copies


def test_empty_file_on_a_is_not_propagated_and_is_reported(synced):
    lab = synced
    kept = content(lab, "node-b")
    refusals = log_count(lab, "node-b", "it is empty; ours is kept")
    write(lab, "node-a", "")
    lab.on("node-b", f"{SCRIPT} pull", check=False)
    assert content(lab, "node-b") == kept
    assert logs_more(lab, "node-b", "it is empty; ours is kept", refusals)


def test_edits_in_the_same_second_end_equal_on_both_nodes(synced):
    lab = synced
    base = content(lab, "node-a")
    mtime = lab.on("node-a", "date +%s").strip()
    text = "both copies changed in the same second"
    ties = log_count(lab, "node-a", text) + log_count(lab, "node-b", text)
    for node in ("node-a", "node-b"):
        lab.on(node, "systemctl stop qmha-sync-poke.path qmha-sync-pull.path")
    try:
        write(lab, "node-a", base + "qmha.test.same_second=a\n", mtime)
        write(lab, "node-b", base + "qmha.test.same_second=b\n", mtime)
        for node in ("node-a", "node-b", "node-a"):
            lab.on(node, f"{SCRIPT} pull", check=False)
        a, b = content(lab, "node-a"), content(lab, "node-b")
        assert a == b
        assert a in (base + "qmha.test.same_second=a\n", base + "qmha.test.same_second=b\n")
        assert wait_until(lambda: log_count(lab, "node-a", text) + log_count(lab, "node-b", text) > ties, 10)
    finally:
        for node in ("node-a", "node-b"):
            lab.on(node, "systemctl start qmha-sync-poke.path qmha-sync-pull.path")


def test_cron_alone_propagates_within_a_minute(synced):
    lab = synced
    for node in ("node-a", "node-b"):
        lab.on(node, "systemctl stop qmha-sync-poke.path qmha-sync-pull.path")
    try:
        text = content(lab, "node-a") + f"qmha.test.cron_only={time.time()}\n"
        write(lab, "node-a", text)
        assert wait_until(lambda: content(lab, "node-b") == text, 75, interval=1), "cron did not sync within 75 s"
    finally:
        for node in ("node-a", "node-b"):
            lab.on(node, "systemctl start qmha-sync-poke.path qmha-sync-pull.path")


def test_peer_clock_off_by_more_than_the_limit_is_refused(synced):
    lab = synced
    refusals = log_count(lab, "node-b", "refusing to sync: the clock of")
    # A stand-in ssh answers `stat` the way the peer would if its clock were 60 s ahead.
    lab.on("node-b", "mkdir -p /tmp/skewed && printf '#!/bin/sh\\necho \"$(( $(date +%s) + 60 )) 1 1 x\"\\n' "
                     "> /tmp/skewed/ssh && chmod +x /tmp/skewed/ssh")
    try:
        run = lab.node("node-b", f"PATH=/tmp/skewed:$PATH {SCRIPT} pull", check=False)
        assert run.returncode == 1
        assert logs_more(lab, "node-b", "refusing to sync: the clock of", refusals)
    finally:
        lab.on("node-b", "rm -rf /tmp/skewed")


def ssh_from_a_to_b(lab, command: str):
    b = lab.nodes["node-b"]["address"]
    return lab.node("node-a", f"ssh -i {KEY} -o BatchMode=yes -o UserKnownHostsFile={KNOWN_HOSTS} "
                              f"qmsync@{b} {command}", check=False)


def test_sync_key_cannot_run_any_other_command(lab):
    run = ssh_from_a_to_b(lab, "id")
    assert run.returncode != 0
    assert "uid=" not in run.stdout
    assert "this key may only run stat, get, poke or rebuild-receive" in run.stderr


def test_sync_key_is_refused_from_another_address(lab):
    key = lab.on("node-a", f"cat {KEY}")
    b = lab.nodes["node-b"]["address"]
    lab.docker("exec", "-i", lab.client, "sh", "-c", "umask 077; cat > /tmp/stolen_key", input_text=key)
    try:
        run = lab.docker("exec", lab.client, "ssh", "-i", "/tmp/stolen_key", "-o", "BatchMode=yes",
                         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                         f"qmsync@{b}", "stat", check=False)
        assert run.returncode == 255
        assert "Permission denied" in run.stderr
    finally:
        lab.docker("exec", lab.client, "rm", "-f", "/tmp/stolen_key")
