"""The production layout of docs/deploy.md is checked, not just written: the systemd units with
`systemd-analyze verify`, the nginx site with `nginx -t`, the logrotate file with
`logrotate -d` (each skipped, saying so, where the tool is missing: scripts/deps.sh installs
nginx-light and logrotate), and the commands and settings they use exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
SETTINGS_DOC = ROOT / "docs" / "settings.md"


def _need(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        pytest.skip(f"{tool} is not installed here (scripts/deps.sh installs it)")
    return path


def _localised(text: str, tmp: Path) -> str:
    """A unit or config with the deployment's paths pointed at this checkout and tmp."""
    venv_bin = Path(sys.executable).parent
    return (
        text.replace("/srv/yishiting/.venv/bin", str(venv_bin))
        .replace("/srv/yishiting", str(ROOT))
        .replace("/etc/yishiting/yishiting.env", str(tmp / "yishiting.env"))
        .replace("/var/lib/yishiting", str(tmp / "data"))
        .replace("/var/log/yishiting", str(tmp / "log"))
        .replace("/var/log/nginx", str(tmp / "log"))
        .replace("/etc/ssl/yishiting", str(tmp / "ssl"))
    )


def test_the_units_name_real_commands_and_options() -> None:
    ours = {name.replace("_", "-") for name in get_commands()}
    for unit in UNITS:
        for line in re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.M):
            words = line.split()
            if words[0].endswith("/yishiting"):
                assert words[1] in ours, (unit.name, words[1])
                help_text = subprocess.run(
                    [sys.executable, "-m", "yishiting.cli", words[1], "--help"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                for option in (w for w in words[2:] if w.startswith("--")):
                    assert option in help_text, (unit.name, option)


def test_the_env_example_uses_documented_settings() -> None:
    documented = set(re.findall(r"^\|\s*`([A-Z0-9_]+)`", SETTINGS_DOC.read_text(), re.M))
    example = (DEPLOY / "yishiting.env.example").read_text()
    names = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    assert {"YISHITING_DEBUG", "YISHITING_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names
    assert names <= documented, names - documented
    assert "YISHITING_DEBUG=0" in example and "YISHITING_DEMO" not in example


def test_systemd_units_verify(tmp_path: Path) -> None:
    tool = _need("systemd-analyze")
    (tmp_path / "yishiting.env").write_text("YISHITING_DEBUG=0\n")
    for name in ("data", "log"):
        (tmp_path / name).mkdir()
    units = tmp_path / "units"
    units.mkdir()
    paths = []
    for unit in UNITS:
        target = units / unit.name
        target.write_text(_localised(unit.read_text(), tmp_path))
        paths.append(target)
    # templates are verified as instances, as systemd would run them
    for template, instance in (
        ("yishiting-web@.service", "8001"),
        ("yishiting-worker@.service", "1"),
    ):
        named = units / template.replace("@", f"@{instance}")
        named.write_text((units / template).read_text())
        paths = [p for p in paths if p.name != template] + [named]
    result = subprocess.run(
        [tool, "verify", "--man=no", *map(str, paths)],
        cwd=units,
        capture_output=True,
        text=True,
        timeout=120,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        # a container without systemd as PID 1 cannot resolve dependencies on units that are
        # not installed here (postgresql.service, …) nor the target's instances: not ours
        if line.strip()
        and "Failed to connect" not in line
        and not re.search(r"(postgresql|redis-server|network-online|multi-user|timers)\.", line)
        and "not found" not in line.lower()
    ]
    assert not problems, "\n".join(problems)
    # and the check can fail: a unit with a typo is reported
    bad = units / "bad.service"
    bad.write_text("[Service]\nExecStart=/nonexistent/yishiting\nRestartt=always\n")
    broken = subprocess.run([tool, "verify", "--man=no", str(bad)], capture_output=True, text=True)
    assert "Restartt" in broken.stderr and "nonexistent" in broken.stderr


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    tool = _need("nginx")
    openssl = _need("openssl")
    ssl = tmp_path / "ssl"
    ssl.mkdir()
    (tmp_path / "log").mkdir()
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=yst.example.gov.cn",
            "-keyout",
            str(ssl / "privkey.pem"),
            "-out",
            str(ssl / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    site = tmp_path / "yishiting.conf"
    site.write_text(_localised((DEPLOY / "nginx" / "yishiting.conf").read_text(), tmp_path))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/log/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {site};\n}}\n"
    )
    result = subprocess.run(
        [tool, "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_logrotate_accepts_the_file(tmp_path: Path) -> None:
    tool = _need("logrotate")
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "web-8001.log").write_text("a line\n")
    config = _localised((DEPLOY / "logrotate" / "yishiting").read_text(), tmp_path)
    config = re.sub(r"^\s*su .*$", "", config, flags=re.M)  # no such user here
    path = tmp_path / "yishiting"
    path.write_text(config)
    result = subprocess.run(
        [tool, "-d", "-s", str(tmp_path / "state"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
