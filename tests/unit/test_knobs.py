"""Every knob has one home: all.py gives its default and description, operations/knobs.py its form,
and the code reads it only through ``Knobs``."""

import re
from pathlib import Path

import pytest

from operations import knobs

REPO = Path(__file__).resolve().parents[2]
READERS = [*(REPO / "operations").rglob("*.py"), *(REPO / "drill").rglob("*.py"), *(REPO / "lab").rglob("*.py"),
           REPO / "deploy.py", REPO / "handover.py"]


NODE_A = {"qm_cluster_fqdn": "queuemetrics.mycompany.com", "qm_node_fqdn": "node-a.mycompany.com",
          "qm_node_address": "192.168.1.5", "qm_app_mode": "standin", "qm_lab": True}


def read(**data) -> knobs.Knobs:
    """Node A's knobs with DATA over the seed's example."""
    return knobs.read("node-a", {**NODE_A, **data})


def code_outside_knobs() -> str:
    return "\n".join(p.read_text() for p in READERS if p.name != "knobs.py")


def test_every_documented_knob_has_a_form_and_every_form_is_documented():
    assert set(knobs.documented()) == set(knobs.names())


def test_every_knob_is_documented_with_a_line_of_its_own():
    assert [name for name in knobs.names() if not knobs.describe(name)] == []


def test_every_knob_is_read_by_the_code():
    code = code_outside_knobs()
    unread = [name for name in knobs.names() if not re.search(rf"\.{name}\b|raw\([^)]*\"{name}\"", code)]
    assert unread == []


def test_every_knob_the_code_names_is_documented():
    named = set(re.findall(r"\b(qm_[a-z0-9_]+)\b", code_outside_knobs()))
    assert named - set(knobs.names()) == set()


def test_operations_read_inventory_data_only_through_the_knobs_module():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "operations").rglob("*.py")
                 if p.name != "knobs.py" and re.search(r"\bdata\.get\(|host\.data\b|\.data\[", p.read_text())]
    assert offenders == []


def test_defaults_come_from_all_py():
    k = read()
    assert (k.qm_tomcat_http_port, k.qm_interface, k.qm_strict_disk_layout) == (8080, "eth0", True)
    assert k.qm_firewall_ssh_sources == () and k.qm_ssh_password_login is None


def test_a_legitimate_zero_or_false_is_kept():
    k = read(qm_hsts_max_age=0, qm_strict_disk_layout=False, qm_ssh_password_login=False)
    assert (k.qm_hsts_max_age, k.qm_strict_disk_layout, k.qm_ssh_password_login) == (0, False, False)
    assert k.problems == ()


def test_command_line_text_is_parsed_once():
    k = read(qm_tomcat_xmx="1g", qm_db_import_into_nonempty="yes", qm_tomcat_https_port="9443",
             qm_jdbc_driver="None")
    assert (k.qm_db_import_into_nonempty, k.qm_tomcat_https_port, k.qm_jdbc_driver) == (True, 9443, None)
    assert k.problems == ()


@pytest.mark.parametrize("knob, value, problem", [
    ("qm_firewall_ssh_sources", "203.0.113.7/32", "'203.0.113.7/32' is not a list"),
    ("qm_firewall_ssh_sources", ["203.0.113.300/32"], "is not an address or network"),
    ("qm_firewall_ssh_sources", ["10.0.0.1/24"], "is not an address or network"),
    ("qm_tomcat_http_port", 70000, "70000 is out of range"),
    ("qm_web_peer_hop_port", "eighty", "'eighty' is not a whole number"),
    ("qm_app_mode", "tomcat", "'tomcat' is not one of standin, war, loway"),
    ("qm_strict_disk_layout", "maybe", "'maybe' is not True or False"),
    ("qm_app_war", "/nonexistent/queuemetrics.war", "/nonexistent/queuemetrics.war is not a file or directory"),
    ("qm_ntp_servers", "ntp1.mycompany.com", "is not a list"),
    ("qm_node_address", "192.168.1.300", "is not an IPv4 address"),
    ("qm_tomcat_xmx", "lots", "'lots' is not a JVM heap size"),
    ("qm_config_properties", "relative/configuration.properties", "is not an absolute path"),
    ("qm_backup_time", "3am", "'3am' is not a time of day HH:MM"),
    ("qm_backup_time", "24:00", "'24:00' is not a time of day HH:MM"),
    ("qm_backup_dir", "backups", "'backups' is not an absolute path"),
    ("qm_backup_keep", 0, "0 is out of range"),
    ("qm_db_semi_sync_timeout_ms", 50, "50 is out of range"),
    ("qm_loway_repo_url", "yum.loway.ch/loway.repo", "is not an http(s) URL"),
])
def test_a_value_not_of_its_form_is_a_problem_naming_host_knob_and_fix(knob, value, problem):
    k = read(**{knob: value})
    assert [(p.host, p.knob) for p in k.problems] == [("node-a", knob)]
    assert problem in k.problems[0].problem and k.problems[0].fix
    assert getattr(k, knob) == knobs.default(knob)  # the refused value never reaches a phase


def test_a_list_given_as_text_is_fixed_with_the_command_line_form():
    fix = read(qm_firewall_ssh_sources="203.0.113.7/32").problems[0].fix
    assert "--data 'qm_firewall_ssh_sources=[\"203.0.113.7/32\"]'" in fix


@pytest.mark.parametrize("data, knob", [
    ({"qm_tomcat_http_port": 8443}, "qm_tomcat_https_port"),
    ({"qm_web_peer_hop_port": 443}, "qm_web_peer_hop_port"),
    ({"qm_app_mode": "war"}, "qm_app_war"),
    ({"qm_tls_cert": "/x/cert.pem"}, "qm_tls_key"),
    ({"qm_jdbc_socket_timeout_ms": 1000, "qm_jdbc_connect_timeout_ms": 2000}, "qm_jdbc_socket_timeout_ms"),
])
def test_values_that_do_not_fit_together_are_problems(data, knob):
    assert [p.knob for p in read(**data).problems] == [knob]


def test_a_cluster_without_names_or_mode_is_named_per_knob():
    assert [p.knob for p in knobs.read("node-a", {}).problems] == [
        "qm_cluster_fqdn", "qm_node_fqdn", "qm_node_address", "qm_app_mode"]


def test_the_install_mode_must_be_stated():
    k = knobs.read("node-a", {**NODE_A, "qm_app_mode": None})
    assert [(p.knob, p.problem) for p in k.problems] == [("qm_app_mode", "it is not set")]
    assert "'war' (with qm_app_war) or 'loway'" in k.problems[0].fix
