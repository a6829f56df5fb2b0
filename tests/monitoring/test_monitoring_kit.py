"""The monitoring kit in examples/monitoring/ against the metrics the collection really writes.

Run by `scripts/test.sh monitoring`, which installs promtool (Debian's prometheus package). The
metric names and labels the kit may use come from _report.render_prometheus() itself.
"""

import importlib
import json
import os
import re
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "testbed"))
import collection_link  # noqa: E402  (path set just above)

KIT = os.path.join(REPO, "examples", "monitoring")
RULES = os.path.join(KIT, "alation_scim_alerts.yml")
RULE_TESTS = os.path.join(KIT, "alation_scim_alerts_test.yml")
DASHBOARD = os.path.join(KIT, "alation_scim_dashboard.json")
# Labels Prometheus adds to every scraped series, so the rule tests' input carries them too.
SCRAPE_LABELS = {"instance", "job"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                   "offset", "bool", "inf", "nan"}
# Grafana's variables, as a fixed range for promtool to parse.
GRAFANA_VARIABLES = {"$__interval": "1m", "$__rate_interval": "5m", "$__range": "1d"}


def load_report():
    """The collection's _report module, imported the way Ansible imports it (it imports its siblings)."""
    if "ansible_collections.alation.scim" not in sys.modules:
        sys.path.insert(0, collection_link.new_collections_path("alation-scim-monitoring-"))
    return importlib.import_module("ansible_collections.alation.scim.plugins.module_utils._report")


def written_series():
    """{metric name: set of label names} of a textfile the collection writes for a mixed fleet."""
    report = load_report()
    records, dummy = report.build_records([
        dict(host="alation1", token_present=True, expires_at="2027-05-01T00:00:00Z", days_remaining=150,
             rotated=True, status="ok"),
        dict(host="alation2", status="unreachable", message="ssh: Connection refused")])
    series = {}
    for line in report.render_prometheus(records, 30, 7).splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(2) or ""))
        series.setdefault(match.group(1), set()).update(labels)
    return series


def metric_names(expr):
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def rule_exprs():
    with open(RULES) as f:
        return dict((rule["alert"], rule["expr"]) for group in yaml.safe_load(f)["groups"] for rule in group["rules"])


def dashboard_targets():
    with open(DASHBOARD) as f:
        panels = json.load(f)["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel.get("targets", [])]


def promtool(*args, **kw):
    return subprocess.run(["promtool"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, **kw)


def test_metric_name_extraction_sees_through_promql():
    assert metric_names('sum by (host) (rate(a_total{x="b c"}[5m])) / on(host) group_left(level) b '
                        '> bool 2 and c offset 5m unless time() - d') == {"a_total", "b", "c", "d"}


def test_textfile_is_valid_exposition_format():
    report = load_report()
    records, dummy = report.build_records([dict(host="alation1", token_present=True, days_remaining=150,
                                                expires_at="2027-05-01T00:00:00Z", status="ok")])
    proc = promtool("check", "metrics", input=report.render_prometheus(records, 30, 7))
    assert proc.returncode == 0, proc.stdout


def test_alert_rules_pass_promtool_and_their_tests():
    proc = promtool("check", "rules", RULES)
    assert proc.returncode == 0, proc.stdout
    proc = promtool("test", "rules", RULE_TESTS, cwd=KIT)
    assert proc.returncode == 0, proc.stdout
    assert "SUCCESS" in proc.stdout


def test_the_issue_s_alerts_are_all_there():
    assert sorted(rule_exprs()) == sorted([
        "AlationScimTokenExpiresWithinWarning", "AlationScimTokenExpiresWithinCritical", "AlationScimTokenExpired",
        "AlationScimTokenExpiryUnknown", "AlationScimHostMissing", "AlationScimMetricsMissing",
        "AlationScimLastRunFailed", "AlationScimLastRunTooOld"])
    with open(RULE_TESTS) as f:
        tested = set(case["alertname"] for test in yaml.safe_load(f)["tests"] for case in test["alert_rule_test"])
    assert tested == set(rule_exprs()), "every alert has a promtool test"


def test_alert_rules_name_only_metrics_the_collection_writes():
    written = written_series()
    for alert, expr in rule_exprs().items():
        names = metric_names(expr)
        assert names and names <= set(written), (alert, names - set(written))


def test_rule_tests_feed_the_series_the_collection_writes():
    """The tests' input has the names and labels of the real file, so they test the real thing."""
    written = written_series()
    with open(RULE_TESTS) as f:
        tests = yaml.safe_load(f)["tests"]
    for test in tests:
        for item in test["input_series"]:
            match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$", item["series"])
            name, labels = match.group(1), set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(2)))
            if name == "up":
                continue
            assert name in written, name
            assert labels - SCRAPE_LABELS == written[name], (name, labels)


def test_dashboard_queries_name_only_metrics_the_collection_writes():
    written = written_series()
    targets = dashboard_targets()
    assert targets
    for title, expr in targets:
        names = metric_names(expr)
        assert names and names <= set(written), (title, names - set(written))
        # Per-host panels group by the label the collection writes.
        for label in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
            assert set(x.strip() for x in label.split(",")) <= {"host"}, (title, expr)


def test_dashboard_shows_days_left_last_run_and_rotations():
    used = dict((title, metric_names(expr)) for title, expr in dashboard_targets())
    assert "alation_scim_token_expiry_timestamp_seconds" in used["Days left per host"]
    assert "alation_scim_last_run_success" in used["Last run"]
    assert "alation_scim_last_run_timestamp_seconds" in used["Time since the last run"]
    assert "alation_scim_token_rotated" in used["Rotations"]


def test_dashboard_queries_are_valid_promql(tmp_path):
    rules = []
    for index, (title, expr) in enumerate(dashboard_targets()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, (title, expr)
        rules.append({"record": "alation_scim_dashboard:panel_%d" % index, "expr": expr})
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = promtool("check", "rules", str(path))
    assert proc.returncode == 0, proc.stdout
