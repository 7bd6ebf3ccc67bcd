"""The sync script itself, run in a local shell: the peer is a stand-in ``ssh`` on PATH that answers
``stat`` and ``get`` from a file of this test (no node, no network)."""

import os
import shlex
import stat
import subprocess
import textwrap
import time

from operations.render import render


def script(tmp_path, on_get: str = "") -> tuple:
    ours, theirs = tmp_path / "ours.properties", tmp_path / "theirs.properties"
    (tmp_path / "backups").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_ssh = bin_dir / "ssh"
    # the last argument is the verb the sync's restricted key allows
    fake_ssh.write_text(textwrap.dedent(f"""\
        #!/bin/bash
        verb="${{@: -1}}"
        case "$verb" in
          stat) echo "$(date +%s) $(stat -c %Y {theirs}) $(stat -c %s {theirs}) $(sha256sum < {theirs} | cut -d' ' -f1)" ;;
          get) cat {theirs}; {on_get} ;;
        esac
        """))
    (bin_dir / "logger").write_text(f"#!/bin/bash\necho \"$@\" >> {tmp_path / 'log'}\n")
    for f in (fake_ssh, bin_dir / "logger"):
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    owner = f"{os.getuid()}:{os.getgid()}"
    q = shlex.quote
    text = render("sync/qmha-sync.sh.j2", properties=q(str(ours)), peer_address="192.0.2.6", peer_port=22,
                  key=q(str(tmp_path / "key")), known_hosts=q(str(tmp_path / "known")),
                  backup_dir=q(str(tmp_path / "backups")), keep_backups=5, max_skew_s=60, min_keep_percent=50,
                  sync_user="qmsync", file_owner=owner, file_mode="0640")
    path = tmp_path / "qmha-sync"
    path.write_text(text.replace("LOCK=/run/lock/qmha-sync.lock", f"LOCK={tmp_path / 'lock'}"))
    path.chmod(0o755)
    return path, ours, theirs, {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def pull(path, env):
    return subprocess.run([str(path), "pull"], env=env, capture_output=True, text=True, timeout=60)


def test_a_newer_peer_copy_is_taken(tmp_path):
    path, ours, theirs, env = script(tmp_path)
    ours.write_text("a=1\n")
    os.utime(ours, (time.time() - 60, time.time() - 60))
    theirs.write_text("a=2\n")
    assert pull(path, env).returncode == 0
    assert ours.read_text() == "a=2\n"


def test_an_edit_of_ours_while_the_peers_copy_is_read_is_kept(tmp_path):
    """The pull decided the peer's copy was newer, then ours was edited while it read the peer's:
    ours is now the newest and stays (its own poke takes it to the peer)."""
    path, ours, theirs, env = script(tmp_path, on_get=f"echo a=ours-later > {tmp_path / 'ours.properties'}")
    ours.write_text("a=1\n")
    os.utime(ours, (time.time() - 60, time.time() - 60))
    theirs.write_text("a=2\n")
    assert pull(path, env).returncode == 0
    assert ours.read_text() == "a=ours-later\n"
    assert "ours changed while the copy" in (tmp_path / "log").read_text()
