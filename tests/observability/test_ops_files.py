"""docs/prometheus (alert rules) and docs/grafana (dashboard): they load, they test, and they only
use metrics the portal exports.

* The rules are run by `promtool test rules` against series that must and must not fire them.
  promtool comes with Debian's `prometheus` package (installed by .ci/run): under CI=true a missing
  promtool fails, elsewhere it skips with the reason. The rule file's shape is checked either way.
* Grafana publishes no JSON Schema file for dashboards; its dashboard model is generated from its
  schema (CUE kinds) into grafana-foundation-sdk. The dashboard must round-trip through that model
  without losing a key (an unknown or misplaced key would be dropped), and every panel query must
  be valid PromQL (promtool) over metrics /metrics serves.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client import Counter, Histogram

from core import metrics
from core.metrics_view import StateCollector
from tests.services import is_ci

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES = DOCS / "prometheus" / "alerts.yml"
RULE_TESTS = DOCS / "prometheus" / "alerts.test.yml"
DASHBOARD = DOCS / "grafana" / "hitl-portal.json"
METRIC = re.compile(r"\bhitl_[a-z_]+")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is not installed (Debian: apt-get install prometheus)"
        if is_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every sample name the portal can serve on /metrics."""
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names |= {f"{value._name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    names |= {family.name for family in StateCollector().describe()}
    return names


def test_alert_rules_pass_promtool_tests():
    tool = promtool()
    checked = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [tool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True, text=True
    )
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_alert_rules_cover_the_issue_and_use_exported_metrics(exported):
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    by_name = {rule["alert"]: rule for rule in rules}
    for wanted, metric in [
        ("HitlWebhookProcessingLag", "hitl_webhook_oldest_pending_seconds"),
        ("HitlCallbackFailures", "hitl_callback_attempts_total"),
        ("HitlTokenRefreshFailures", "hitl_hubspot_token_refresh_failures_total"),
        ("HitlHubSpotRateLimited", "hitl_hubspot_rate_limited_total"),
        ("HitlNotReady", "hitl_ready"),
    ]:
        assert metric in by_name[wanted]["expr"], wanted
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert set(METRIC.findall(rule["expr"])) <= exported, rule["alert"]
    tested = {
        t["alertname"]
        for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for t in case["alert_rule_test"]
    }
    assert tested == set(by_name), "every alert has a promtool test"


def _keys(node, path="") -> set[str]:
    if isinstance(node, dict):
        return {f"{path}.{k}" for k in node} | {p for k, v in node.items() for p in _keys(v, f"{path}.{k}")}
    if isinstance(node, list):
        return {p for item in node for p in _keys(item, f"{path}[]")}
    return set()


def test_dashboard_round_trips_through_grafanas_dashboard_model():
    data = json.loads(DASHBOARD.read_text())
    model = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    lost = _keys(data) - _keys(model)
    assert not lost, f"keys Grafana's dashboard model does not know: {sorted(lost)}"
    assert model["uid"] == "hitl-portal" and model["schemaVersion"] >= 36


def test_dashboard_layout_is_sound():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_dashboard_queries_are_promql_over_exported_metrics(exported, tmp_path):
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert len(exprs) >= 15
    for expr in exprs:
        assert set(METRIC.findall(expr)) <= exported, expr
    # promtool parses PromQL in rule files: each query becomes a recording rule, variables filled.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": expr.replace("$job", ".*")}
                    for i, expr in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
