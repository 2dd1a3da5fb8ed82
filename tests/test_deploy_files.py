"""The supervisor and container files under deploy/, Dockerfile and compose.yaml, validated here
since no init system or container runtime runs in the suite: `systemd-analyze verify` on the units
(with their paths pointed at this checkout), hadolint on the Dockerfile, and the promises the
README makes about each (restart, unprivileged user, graceful stop longer than the longest task,
the one env file, the same commands as the Procfile)."""

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from honcho.environ import parse_procfile

from tests.services import require_tool

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
PROCFILE = parse_procfile((ROOT / "Procfile").read_text()).processes
RELEASE = "/srv/hitl-portal"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "deploy" / "systemd" / name)
    return parser


def seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_there_is_a_unit_per_procfile_process():
    assert [u.name for u in UNITS] == ["hitl-beat.service", "hitl-web.service", "hitl-worker.service"]


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    systemd_analyze = require_tool("systemd-analyze", "Debian: apt-get install systemd")
    # The units name /srv/hitl-portal; verify checks that ExecStart exists, so point them here.
    for path in UNITS:
        (tmp_path / path.name).write_text(path.read_text().replace(RELEASE, str(ROOT)))
    result = subprocess.run(
        [systemd_analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on unknown keys too; any complaint at all fails the test.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_run_unprivileged_restart_and_read_the_env_file(path):
    service = unit(path.name)["Service"]
    assert service["User"] == "hitl" and service["Group"] == "hitl"
    assert service["Restart"] == "always"
    assert service["WorkingDirectory"] == RELEASE
    assert service["EnvironmentFile"] == f"{RELEASE}/.env"  # the file make prod-env writes
    assert service["KillSignal"] == "SIGTERM"
    assert service["NoNewPrivileges"] == "true"
    assert unit(path.name)["Install"]["WantedBy"] == "multi-user.target"


def test_units_run_what_the_procfile_runs():
    for name, process in (("web", "web"), ("worker", "worker"), ("beat", "beat")):
        exec_start = unit(f"hitl-{name}.service")["Service"]["ExecStart"]
        command = exec_start.removeprefix(f"{RELEASE}/.venv/bin/")
        # The Procfile's ${LOG_LEVEL:-INFO} is INFO in the unit.
        assert command == re.sub(r"\$\{LOG_LEVEL:-INFO\}", "INFO", PROCFILE[process])


def test_stop_timeouts_outlast_graceful_work():
    gunicorn = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec((ROOT / "gunicorn.conf.py").read_text(), gunicorn)
    web = unit("hitl-web.service")["Service"]
    assert seconds(web["TimeoutStopSec"]) > gunicorn["graceful_timeout"]
    assert web["KillMode"] == "mixed"
    worker = unit("hitl-worker.service")["Service"]
    # Warm shutdown lets running tasks finish; the hardest limit on one is the task time limit.
    assert seconds(worker["TimeoutStopSec"]) > settings.CELERY_TASK_TIME_LIMIT
    assert worker["KillMode"] == "mixed"  # SIGTERM to Celery's main process only


def test_hadolint_accepts_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_static_files_collected():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, flags=re.M)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    assert "manage.py collectstatic --noinput" in runtime
    [user] = re.findall(r"^USER (\S+)$", runtime, flags=re.M)
    assert user.split(":")[0] not in ("root", "0")
    # Nothing of a deployment baked in: the env file is not copied into the build context.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored
    assert re.search(r'^CMD \["gunicorn", "-c", "gunicorn.conf.py"\]$', text, flags=re.M)


def test_the_dockerfile_collectstatic_step_works_with_its_throwaway_settings(tmp_path):
    """The RUN step's variables, exactly as written, let the production profile collect."""
    text = (ROOT / "Dockerfile").read_text()
    step = re.search(r"RUN (ENV_FILE=.*?python manage.py collectstatic)", text, flags=re.S).group(1)
    assignments = dict(re.findall(r"(\w+)=(\S+) \\", step))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DJANGO_ENV": "production"}
    env |= assignments | {"STATIC_ROOT": str(tmp_path / "static")}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


def test_compose_runs_web_worker_beat_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis"}
    for name in ("web", "worker", "beat", "migrate"):
        service = services[name]
        assert service["build"] == "." and service["env_file"] == ".env"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["restart"] == "unless-stopped"
        assert " ".join(services[name]["command"]) == re.sub(r"\$\{LOG_LEVEL:-INFO\}", "INFO", PROCFILE[name])
    assert seconds(services["worker"]["stop_grace_period"]) > settings.CELERY_TASK_TIME_LIMIT
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert set(compose["volumes"]) == {"postgres-data", "redis-data"}


def test_metrics_directory_is_the_only_writable_path_and_is_created_at_boot():
    for name in ("hitl-web.service", "hitl-worker.service"):
        service = unit(name)["Service"]
        assert service["ProtectSystem"] == "strict"
        assert service["ReadWritePaths"] == "-/run/hitl-metrics"
    tmpfiles = (ROOT / "deploy" / "systemd" / "hitl-portal.tmpfiles.conf").read_text()
    assert "d /run/hitl-metrics 0750 hitl hitl -" in tmpfiles.splitlines()
