"""Command-level tests of the application and web phases on CentOS 7 and Debian 12 nodes, from
recorded facts through pyinfra's fake connector: no server, no Docker."""

import hashlib
import re
import zipfile

import pytest

from operations import knobs
from operations.phases import app, web
from operations.phases.app import webapp
from operations.cluster import Cluster, NodeSpec
from operations.platform import PLATFORMS
from tests.deploy.harness import all_commands, find, run

PEER_OF_A = "192.168.1.6"


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


def app_ops(os_key, state_dir, **data):
    return run(app.configure, os_key, state_dir, data=data)


def installs(path: str, owner: str = r"\S+:\S+", mode: str = r"\d+") -> str:
    """The command of ``secret_file`` that installs the staged copy of PATH (a regular expression)."""
    return rf"install -m {mode} -o {owner.replace(':', ' -g ')} /var/lib/qm-ha/staging/\S+\.new {re.escape(path)};"


# ---------------------------------------------------------------- application, Debian 12


def test_debian_installs_tomcat10_and_the_mariadb_driver_with_apt(state_dir):
    ops = app_ops("debian12", state_dir)["node-a"]
    install = find(ops, r"Tomcat and the MariaDB JDBC driver").text
    assert re.search(r"apt-get .*install tomcat10 libmariadb-java$", install, re.M)
    assert "yum" not in all_commands(ops)


def test_debian_paths(state_dir):
    ops = app_ops("debian12", state_dir)["node-a"]
    text = all_commands(ops)
    assert re.search(installs("/etc/tomcat10/server.xml"), text)
    assert re.search(installs("/var/lib/tomcat10/webapps/queuemetrics/WEB-INF/web.xml"), text)
    assert "upload /var/lib/tomcat10/webapps/queuemetrics/probe.jsp" in text
    assert "upload /etc/systemd/system/tomcat10.service.d/qmha.conf" in text
    assert ("ln -s /usr/share/java/mariadb-java-client.jar /usr/share/tomcat10/lib/mariadb-java-client.jar"
            in find(ops, "JDBC driver on Tomcat's class path").text)
    assert "systemctl restart tomcat10 " in find(ops, "Restart Tomcat").text


def test_tomcat_joins_the_tls_group_and_gets_a_private_keystore(state_dir):
    ops = app_ops("debian12", state_dir)["node-a"]
    assert "-G qmha-tls" in find(ops, "tomcat may read the TLS keystore").text
    keystore = find(ops, r"tomcat\.p12").text
    assert "chown root:qmha-tls /etc/qm-ha/tls/tomcat.p12" in keystore
    assert "chmod 640 /etc/qm-ha/tls/tomcat.p12" in keystore


def test_web_xml_is_readable_by_tomcat_only(state_dir):
    web_xml = find(app_ops("debian12", state_dir)["node-a"], r"WEB-INF/web\.xml").text
    assert re.search(installs("/var/lib/tomcat10/webapps/queuemetrics/WEB-INF/web.xml", "root:tomcat", "0640"),
                     web_xml)


def test_files_holding_a_password_are_staged_root_only(state_dir):
    ops = app_ops("debian12", state_dir)["node-a"]
    for name in (r"WEB-INF/web\.xml", r"server\.xml"):
        text = find(ops, name).text
        assert "install -d -m 0700 -o root -g root /var/lib/qm-ha/staging" in text
        assert re.search(r"upload /var/lib/qm-ha/staging/\S+\.new", text)


def test_tomcat_restarts_one_node_at_a_time_and_waits_for_its_connector(state_dir):
    ops = app_ops("debian12", state_dir)
    restart = find(ops["node-a"], "Restart Tomcat")
    assert "/dev/tcp/127.0.0.1/8080" in restart.text
    assert "exit 1" in restart.text
    assert re.search(r"&& sleep 10$", restart.text)


def test_a_tomcat_no_nginx_routes_to_yet_starts_on_both_nodes_at_once_without_the_nginx_wait(state_dir):
    """Fresh nodes: no Tomcat serves anyone yet, so both start together (not one at a time), without
    an nginx fail_timeout no nginx of ours has; the run goes on while the webapp deploys and waits
    (bounded) for it at the end."""
    ops = app_ops("debian12", state_dir)
    start = find(ops["node-a"], "Start Tomcat where no nginx routes to it yet")
    assert start.text == "systemctl daemon-reload && systemctl restart tomcat10"
    names = [op.name for op in ops["node-a"]]
    assert names.index(start.name) < names.index(find(ops["node-a"], "Restart Tomcat").name)


def test_a_tomcat_started_at_once_is_waited_for_at_the_end(state_dir):
    def both(r):
        serving = app.serving(r, app.configure(r))
        return serving

    ops = run(both, "debian12", state_dir)["node-a"]
    assert ops[-1].name.endswith("Tomcat started in this run serves the webapp")
    assert "/dev/tcp/127.0.0.1/8080" in ops[-1].text and "exit 1" in ops[-1].text


# ---------------------------------------------------------------- application, CentOS 7


def test_centos_installs_tomcat_with_yum(state_dir):
    ops = app_ops("centos7", state_dir)["node-a"]
    install = find(ops, r"Tomcat and the MariaDB JDBC driver").text
    assert install.strip() == "yum install -y tomcat mariadb-java-client"
    assert "apt-get" not in all_commands(ops)


def test_centos_paths(state_dir):
    text = all_commands(app_ops("centos7", state_dir)["node-a"])
    assert re.search(installs("/etc/tomcat/server.xml"), text)
    assert re.search(installs("/var/lib/tomcat/webapps/queuemetrics/WEB-INF/web.xml"), text)
    assert "upload /etc/systemd/system/tomcat.service.d/qmha.conf" in text
    assert "/usr/share/tomcat/lib/mariadb-java-client.jar" in text
    assert "systemctl restart tomcat " in text
    assert "tomcat10" not in text


def test_already_installed_tomcat_is_left_alone(state_dir):
    ops = run(app.configure, "debian12", state_dir, responses={
        # recorded from a Debian 12 node
        "dpkg -l": [
            "ii  libmariadb-java               2.7.6-1                        all          Java database driver for MariaDB and MySQL",
            "ii  tomcat10                      10.1.55-1~deb12u1              all          Apache Tomcat 10 - Servlet and JSP engine",
        ],
    })["node-a"]
    # (apt may still refresh its lists: they are older than a day in these facts)
    assert " install " not in find(ops, r"Tomcat and the MariaDB JDBC driver").text


# ---------------------------------------------------------------- application, Loway's package


def test_loway_mode_installs_loways_package_and_sets_jdbc_url_in_place(state_dir):
    ops = app_ops("centos7", state_dir, qm_app_mode="loway")["node-a"]
    text = all_commands(ops)
    assert "/etc/yum.repos.d/loway.repo" in find(ops, "Loway's yum repository").text
    assert find(ops, r"QueueMetrics \(Loway's package\)").text.strip() == "yum install -y queuemetrics"
    assert not re.search(r"yum install -y tomcat\b", text)
    param = find(ops, "JDBC_URL in QueueMetrics' web.xml").text
    assert "/usr/local/queuemetrics/tomcat/webapps/queuemetrics/WEB-INF/web.xml" in param
    assert re.search(installs("/usr/local/queuemetrics/tomcat/conf/server.xml"), text)
    assert "systemctl restart qm-tomcat6 " in text
    # MySQL Connector/J ships with QueueMetrics: no MariaDB driver, no stand-in files.
    assert "mariadb-java-client" not in text and "probe.jsp" not in text


def test_loway_mode_never_shows_the_password_in_commands(state_dir):
    ops = app_ops("centos7", state_dir, qm_app_mode="loway")["node-a"]
    password = (state_dir / "secrets.json").read_text()
    import json

    secret = json.loads(password)["db_app_password"]
    assert secret not in all_commands(ops)


def test_loway_jdbc_url_already_set_is_not_rewritten(state_dir):
    first = app_ops("centos7", state_dir, qm_app_mode="loway")  # creates the secrets
    assert find(first["node-a"], "JDBC_URL in QueueMetrics' web.xml").commands
    import json

    secret = json.loads((state_dir / "secrets.json").read_text())["db_app_password"]
    url = webapp.jdbc_url("mysql", PEER_OF_A, "queuemetrics", "queuemetrics", secret, 2000, 15000)
    ops = run(app.configure, "centos7", state_dir, data={"qm_app_mode": "loway"},
              responses={re.compile(r"web\.xml JDBC_URL$"): url})
    assert find(ops["node-a"], "JDBC_URL in QueueMetrics' web.xml").commands == []
    # node-b's URL names node-a as its peer: still different, so it is written there.
    assert find(ops["node-b"], "JDBC_URL in QueueMetrics' web.xml").commands


def test_loway_mode_on_debian_stops_with_a_fix(state_dir):
    with pytest.raises(app.AppConfigError, match="'war'"):
        app_ops("debian12", state_dir, qm_app_mode="loway")


# ---------------------------------------------------------------- application, customer WAR


def test_war_mode_stages_the_unpacked_war_beside_the_running_one(state_dir, tmp_path):
    war = tmp_path / "queuemetrics-24.war"
    with zipfile.ZipFile(war, "w") as z:
        z.writestr("WEB-INF/web.xml", "<web-app><context-param><param-name>JDBC_URL</param-name>"
                                      "<param-value>x</param-value></context-param></web-app>")
        z.writestr("qm.jsp", "ok")
    ops = app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=str(war))["node-a"]
    text = find(ops, "New WAR staged").text
    assert "upload /var/lib/qm-ha/webapp-next/qm.jsp" in text
    assert "WEB-INF/web.xml" not in text  # installed apart, its password masked in a diff
    assert re.search(installs("/var/lib/qm-ha/webapp-next/WEB-INF/web.xml", "root:tomcat", "0640"),
                     find(ops, "Staged WAR's WEB-INF/web.xml").text)
    unpacked = (state_dir / "webapp" / "@fake/node-a" / "queuemetrics" / "WEB-INF" / "web.xml").read_text()
    assert f"jdbc:mysql://127.0.0.1:3306,{PEER_OF_A}:3306/queuemetrics?" in unpacked
    assert "libmariadb-java" not in all_commands(ops)


def test_the_staged_wars_identity_is_written_after_its_files(state_dir, tmp_path):
    war = make_war(tmp_path / "qm.war", **{"qm.jsp": "ok"})
    ops = app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=war)["node-a"]
    names = [op.name for op in ops]
    identity = names.index(next(n for n in names if "identity (written last)" in n))
    for before in ("New WAR staged", "Staged WAR's file list", "Staged WAR's WEB-INF/web.xml"):
        assert names.index(next(n for n in names if before in n)) < identity
    assert find(ops, "identity \\(written last\\)").text.startswith(
        f"upload /var/lib/qm-ha/webapp-next.id\nsha256:{hashlib.sha256(open(war, 'rb').read()).hexdigest()}\n")


def test_node_a_swaps_first_and_node_b_waits_for_its_report(state_dir, tmp_path):
    war = make_war(tmp_path / "qm.war", **{"qm.jsp": "ok"})
    ops = app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=war)
    names = [op.name for op in ops["node-a"]]
    swaps = [n for n in names if "swapped in" in n]
    assert [s.split(" on ")[1].split(" ")[0] for s in swaps] == ["@fake/node-a", "@fake/node-b"]
    a_on_a, b_on_a = (find(ops["node-a"], re.escape(s)) for s in swaps)
    a_on_b, b_on_b = (find(ops["node-b"], re.escape(s)) for s in swaps)
    assert a_on_a.commands and b_on_b.commands and not b_on_a.commands and not a_on_b.commands
    # B's swap waits for A's report (A's swap waits for no one)
    assert "SELECT war FROM `queuemetrics`.qmha_rollout WHERE node" in b_on_b.text and "@fake/node-a" in b_on_b.text
    assert "SELECT war FROM" not in a_on_a.text
    assert "systemctl stop tomcat10" in a_on_a.text and "systemctl start tomcat10" in a_on_a.text


def test_a_node_running_the_war_stages_and_swaps_nothing(state_dir, tmp_path):
    war = make_war(tmp_path / "qm.war", **{"qm.jsp": "ok"})
    identity = f"sha256:{hashlib.sha256(open(war, 'rb').read()).hexdigest()}"
    ops = run(app.configure, "debian12", state_dir, data={"qm_app_mode": "war", "qm_app_war": war},
              responses={"webapp-next.id": f"staged={identity}\nrunning={identity}"})["node-a"]
    assert not [op.name for op in ops if "Staged" in op.name or "staged" in op.name or "swapped" in op.name]
    assert re.search(installs(f"{WEBAPP}/WEB-INF/web.xml", "root:tomcat", "0640"),
                     find(ops, "QueueMetrics WEB-INF/web.xml").text)


WEBAPP = "/var/lib/tomcat10/webapps/queuemetrics"


def make_war(path, **files):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("WEB-INF/web.xml", "<web-app><context-param><param-name>JDBC_URL</param-name>"
                                      "<param-value>x</param-value></context-param></web-app>")
        for name, text in files.items():
            z.writestr(name.replace("__", "/"), text)
    return str(path)


def stat_line(path, user="tomcat", group="tomcat", mode="-rw-r-----"):
    return f"user={user} group={group} mode={mode} atime=1 mtime=1 ctime=1 size=12 '{path}'"


def test_war_settings_are_installed_once_then_left_to_queuemetrics(state_dir, tmp_path):
    war = make_war(tmp_path / "qm.war", **{"WEB-INF__configuration.properties": "a=1\n", "qm.jsp": "ok"})
    fresh = app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=war)["node-a"]
    assert "configuration.properties" not in find(fresh, "New WAR staged").text  # never synced from the WAR
    seed = find(fresh, "configuration.properties \\(installed once\\)").text
    assert f"upload {WEBAPP}/WEB-INF/configuration.properties" in seed and "chown tomcat:tomcat" in seed
    props = f"{WEBAPP}/WEB-INF/configuration.properties"
    edited = run(app.configure, "debian12", state_dir, data={"qm_app_mode": "war", "qm_app_war": war},
                 responses={f"{props} ||": stat_line(props)})["node-a"]
    assert find(edited, "configuration.properties \\(installed once\\)").commands == []


def test_war_settings_saved_by_root_are_given_back_to_tomcat(state_dir, tmp_path):
    war = make_war(tmp_path / "qm.war", **{"WEB-INF__configuration.properties": "a=1\n"})
    props = f"{WEBAPP}/WEB-INF/configuration.properties"
    ops = run(app.configure, "debian12", state_dir, data={"qm_app_mode": "war", "qm_app_war": war},
              responses={f"{props} ||": stat_line(props, "root", "root", "-rw-r--r--")})["node-a"]
    assert find(ops, "installed once").commands == [f"chmod 640 {props}", f"chown tomcat:tomcat {props}"]


def test_a_new_war_removes_what_the_old_one_had_and_keeps_what_the_webapp_wrote(state_dir, tmp_path):
    war = make_war(tmp_path / "qm-v2.war", **{"qm.jsp": "v2", "WEB-INF__lib__qm-2.jar": "jar"})
    ops = app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=war)["node-a"]
    assert find(ops, "Staged WAR's file list").text.startswith(
        "upload /var/lib/qm-ha/webapp-next.files\nWEB-INF/lib/qm-2.jar\nqm.jsp\n")
    swap = find(ops, "swapped in on @fake/node-a").text
    # the old WAR's files by the old list (never a file the webapp wrote), then the new list kept
    assert f'while IFS= read -r f; do rm -f "{WEBAPP}/$f"; done < /var/lib/qm-ha/war-files' in swap
    assert "cp /var/lib/qm-ha/webapp-next.files /var/lib/qm-ha/war-files" in swap
    assert "rm -rf" not in swap


def test_war_mode_without_a_war_stops_with_a_fix(state_dir):
    with pytest.raises(app.AppConfigError, match="qm_app_war"):
        app_ops("debian12", state_dir, qm_app_mode="war")


# ---------------------------------------------------------------- web


def test_debian_nginx_with_apt_without_the_default_site(state_dir):
    ops = run(web.configure, "debian12", state_dir, responses={
        # recorded from a Debian 12 node right after installing nginx
        "test -L /etc/nginx/sites-enabled/default": (
            "user=root group=root mode=lrwxrwxrwx atime=1795613349 mtime=1795613349 ctime=1795613349 "
            "size=34 '/etc/nginx/sites-enabled/default' -> '/etc/nginx/sites-available/default'"),
    })["node-a"]
    assert re.search(r"apt-get .*install nginx$", find(ops, r"^Web server \(nginx\) \| nginx$").text, re.M)
    assert find(ops, "No default site").commands  # something to remove
    assert "yum" not in all_commands(ops)


def test_centos_nginx_from_epel(state_dir):
    ops = run(web.configure, "centos7", state_dir)["node-a"]
    names = [op.name for op in ops]
    assert find(ops, "Repository for nginx").text.strip() == "yum install -y epel-release"
    assert find(ops, r"\| nginx$").text.strip() == "yum install -y nginx"
    assert names.index("Web server (nginx) | Repository for nginx") < names.index("Web server (nginx) | nginx")
    assert not any("default site" in n for n in names)
    assert "/etc/nginx/conf.d/qmha.conf" in find(ops, "checked and live").text


def test_nginx_config_is_tested_before_reload_and_rolled_back_when_rejected(state_dir):
    activate = find(run(web.configure, "debian12", state_dir)["node-a"], "checked and live").text
    assert activate.index("nginx -t") < activate.index("systemctl reload-or-restart nginx")
    rejected = activate.split("; else", 2)[2]
    assert "cp -p /etc/qm-ha/nginx/qmha.conf.previous /etc/nginx/conf.d/qmha.conf" in rejected
    assert "exit 1" in rejected


def test_nginx_config_already_live_is_not_reloaded(state_dir):
    a = NodeSpec("@fake/node-a", "node-a.mycompany.com", "192.168.1.5", 22)
    b = NodeSpec("@fake/node-b", "node-b.mycompany.com", "192.168.1.6", 22)
    text_a = web.nginx_conf(Cluster("queuemetrics.mycompany.com", (a, b), me=a), PLATFORMS["debian12"],
                            knobs.read("node-a", {}))
    sha = hashlib.sha1(text_a.encode()).hexdigest()
    ops = run(web.configure, "debian12", state_dir, responses={
        "sha1sum /etc/nginx/conf.d/qmha.conf": f"{sha}  /etc/nginx/conf.d/qmha.conf",
    })
    assert find(ops["node-a"], "checked and live").commands == []
    assert find(ops["node-b"], "checked and live").commands  # its configuration names node-a as peer


def test_loway_mode_on_a_fresh_el7_node_installs_the_package_before_writing_into_its_tomcat(state_dir):
    ops = app_ops("centos7", state_dir, qm_app_mode="loway")["node-a"]
    names = [op.name.split(" | ", 1)[1] for op in ops]
    package = names.index("QueueMetrics (Loway's package)")
    for written in ("/usr/local/queuemetrics/tomcat/conf/server.xml", "/etc/qm-ha/tls/tomcat.p12", "Tomcat JVM options",
                    "JDBC_URL in QueueMetrics' web.xml"):
        assert names.index(written) > package, f"{written} comes before Loway's package: {names}"
    assert names.index("Loway's yum repository") < package


def test_setting_jdbc_url_in_a_missing_web_xml_is_an_error(tmp_path):
    import subprocess
    import sys

    from operations.facts.webapp import PARAM_SCRIPT

    missing = str(tmp_path / "WEB-INF" / "web.xml")
    read = subprocess.run([sys.executable, "-c", PARAM_SCRIPT, missing, "JDBC_URL"], capture_output=True, text=True)
    assert (read.returncode, read.stdout) == (0, "")  # the fact: no file, no value
    write = subprocess.run([sys.executable, "-c", PARAM_SCRIPT, missing, "JDBC_URL", "jdbc:x"],
                           capture_output=True, text=True)
    assert write.returncode == 1 and f"{missing} is missing" in write.stderr


# ---------------------------------------------------------------- licences (main on node A, hot backup on node B)


def test_each_node_gets_its_own_licence_key_in_web_xml(state_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("QMHA_LICENCE__FAKE_NODE_A", "QM-MAIN-1234")
    monkeypatch.setenv("QMHA_LICENCE__FAKE_NODE_B", "QM-HOTBACKUP-5678")
    ops = app_ops("debian12", state_dir)
    a = find(ops["node-a"], r"Stand-in WEB-INF/web\.xml").text
    b = find(ops["node-b"], r"Stand-in WEB-INF/web\.xml").text
    assert "<param-name>LICENZA_ARCHITETTURA</param-name>\n    <param-value>QM-MAIN-1234</param-value>" in a
    assert "QM-HOTBACKUP-5678" in b and "QM-MAIN-1234" not in b


def test_war_web_xml_gets_the_nodes_licence_key(state_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("QMHA_LICENCE__FAKE_NODE_A", "QM-MAIN-1234")
    war = tmp_path / "qm.war"
    with zipfile.ZipFile(war, "w") as z:
        z.writestr("WEB-INF/web.xml", "<web-app><context-param><param-name>JDBC_URL</param-name><param-value>x"
                   "</param-value></context-param><context-param><param-name>LICENZA_ARCHITETTURA</param-name>"
                   "<param-value></param-value></context-param></web-app>")
    app_ops("debian12", state_dir, qm_app_mode="war", qm_app_war=str(war))
    unpacked = (state_dir / "webapp" / "@fake/node-a" / "queuemetrics" / "WEB-INF" / "web.xml").read_text()
    assert "<param-name>LICENZA_ARCHITETTURA</param-name><param-value>QM-MAIN-1234</param-value>" in unpacked


def test_loway_web_xml_gets_the_licence_key_in_place(state_dir, monkeypatch):
    monkeypatch.setenv("QMHA_LICENCE__FAKE_NODE_B", "QM-HOTBACKUP-5678")
    ops = app_ops("centos7", state_dir, qm_app_mode="loway")["node-b"]
    op = find(ops, "Licence key in QueueMetrics' web.xml")
    assert "LICENZA_ARCHITETTURA" in op.text and "QM-HOTBACKUP-5678" not in op.text  # hidden in the command shown


def test_without_a_licence_the_node_keeps_the_key_it_has(state_dir):
    ops = run(app.configure, "debian12", state_dir,
              responses={re.compile(r"web\.xml LICENZA_ARCHITETTURA$"): "QM-ENTERED-ON-THE-PAGE"})["node-a"]
    assert "<param-value>QM-ENTERED-ON-THE-PAGE</param-value>" in find(ops, r"Stand-in WEB-INF/web\.xml").text


# ---------------------------------------------------------------- converting an existing QueueMetrics


def test_a_converted_installations_settings_reach_both_nodes_once(state_dir, tmp_path):
    from operations.atomic import identity

    old = tmp_path / "configuration.properties"
    old.write_text("default.queue=100\n")
    ops = app_ops("debian12", state_dir, qm_import_properties=str(old))
    for node in ("node-a", "node-b"):
        text = find(ops[node], "converted installation's configuration.properties").text
        assert "upload /var/lib/tomcat10/webapps/queuemetrics/WEB-INF/configuration.properties\ndefault.queue=100" in text
        assert "/var/lib/qm-ha/properties-imported" in text
    done = run(app.configure, "debian12", state_dir, data={"qm_import_properties": str(old)},
               responses={"cat /var/lib/qm-ha/properties-imported": identity(old)})
    assert find(done["node-a"], "converted installation's configuration.properties").commands == []


def test_a_converted_installations_licence_becomes_node_as(state_dir, tmp_path):
    old = tmp_path / "web.xml"
    old.write_text("<web-app><context-param><param-name>LICENZA_ARCHITETTURA</param-name>"
                   "<param-value>QM-OLD-MAIN-42</param-value></context-param></web-app>")
    ops = app_ops("debian12", state_dir, qm_import_web_xml=str(old))
    assert "<param-value>QM-OLD-MAIN-42</param-value>" in find(ops["node-a"], r"Stand-in WEB-INF/web\.xml").text
    assert "QM-OLD-MAIN-42" not in find(ops["node-b"], r"Stand-in WEB-INF/web\.xml").text
