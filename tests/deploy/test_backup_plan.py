"""The backup phase on fresh CentOS 7 / Debian 12 nodes, from recorded facts: a root-only script that
dumps the database with its position, a timer at qm_backup_time, the platform's dump tool."""

from operations.phases import backup
from tests.deploy.harness import find, run


def script(ops) -> str:
    return find(ops, r"\| /usr/local/sbin/qmha-backup$").text


def test_each_node_gets_a_root_only_script_and_a_nightly_timer(tmp_path):
    ops = run(backup.configure, "debian12", tmp_path)
    for node in ("node-a", "node-b"):
        text = script(ops[node])
        assert "upload" in text and "chmod 700 /usr/local/sbin/qmha-backup" in text
        timer = find(ops[node], r"\| qmha-backup.timer$").text
        assert "/etc/systemd/system/qmha-backup.timer" in timer
        assert find(ops[node], "qmha-backup.timer running").text  # enabled and started on a fresh node


def test_the_script_and_the_timer_follow_the_knobs(tmp_path):
    data = {"qm_backup_time": "01:40", "qm_backup_dir": "/srv/qm backups", "qm_backup_keep": 3}
    plain = run(backup.configure, "debian12", tmp_path / "a")["node-a"]
    knobs = run(backup.configure, "debian12", tmp_path / "b", data=data)["node-a"]
    assert "dir='/srv/qm backups'" in script(knobs) and "tail -n +4 |" in script(knobs)
    assert "dir=/var/backups/qm-ha" in script(plain) and "tail -n +8 |" in script(plain)
    assert find(plain, r"\| qmha-backup.timer$").text != find(knobs, r"\| qmha-backup.timer$").text
    from operations.render import render

    timer = render("backup/qmha-backup.timer.j2", time="01:40")
    assert "OnCalendar=*-*-* 01:40:00" in timer and "Persistent=true" in timer


def render_script(**changes) -> str:
    from operations.render import render

    values = {"database": "queuemetrics", "directory": "'/srv/qm backups'", "keep": 3, "last": "/var/lib/qm-ha/backup-last",
              "dump": "mariadb-dump", "client": "mariadb", "gtid": True, **changes}
    return render("backup/qmha-backup.sh.j2", **values)


def test_the_dump_is_consistent_and_carries_its_position_as_comments():
    text = render_script()
    assert "mariadb-dump --single-transaction --master-data=2 --gtid --routines --triggers --events" in text
    assert "--databases queuemetrics" in text and "umask 077" in text
    assert "dir='/srv/qm backups'" in text


def test_without_gtid_the_dump_carries_the_file_position_and_uses_the_platforms_tool():
    text = render_script(gtid=False, dump="mysqldump")
    assert "mysqldump --single-transaction --master-data=2 --routines" in text and "--gtid" not in text


def test_only_the_newest_backups_are_kept_and_a_failure_is_recorded_and_logged():
    text = render_script(keep=3)
    assert "tail -n +4 | xargs -r rm -f" in text
    assert 'record "failed $1"' in text and "logger -t qmha-backup -p user.err" in text
    assert "exit 1" in text


def test_a_run_writes_under_a_temporary_name_so_a_failure_never_removes_a_kept_backup():
    text = render_script()
    fail = text[text.index("fail() {"):text.index("}", text.index("fail() {"))]
    assert 'rm -f "$partial" "$partial.gz"' in fail and "$file" not in fail
    assert 'mv "$partial.gz" "$file"' in text
