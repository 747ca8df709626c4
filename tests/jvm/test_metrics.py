"""The agent's counts for dashboards and alerts: `/metrics` served by the agent (`metrics=`),
scraped by a real Prometheus server (Debian's) with the README's scrape config and alert rule;
its MBeans, read inside the JVM and by jmx_exporter with the README's rule, unregistered at
detach; a bad `metrics=` value. Real JVMs running tests/programs/MetricsWorkload.java."""
from __future__ import annotations

import json
import queue
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.jvm import RunningJvm, compile_program, env_without_java_options, java_feature, machine_jdks
from helpers.maven import maven_jars
from helpers.readme import snippet as readme_snippet
from unclosed import agent_jar

JDKS = machine_jdks()
# The servers scraping are the same on every JDK: one JDK is enough for them.
JDK17 = next((jdk for jdk in JDKS if java_feature(jdk) == 17), JDKS[0])
JMX_EXPORTER = "io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1"
DEFLATER = "java.util.zip.Deflater"
DEFLATER_BYTES = 2 * (1 << 17) + 6 * 1024  # Kinds.DEFLATER_BYTES
LEAKED, HELD, CLOSED = 7, 3, 2
# What MetricsWorkload's `leak 7`, `hold 3`, `close 2` leave: the Deflater kind's series.
EXPECTED = {
    "unclosed_opened_total": LEAKED + HELD + CLOSED,
    "unclosed_released_total": CLOSED,
    "unclosed_leaked_total": LEAKED,
    "unclosed_leaked_bytes_total": LEAKED * DEFLATER_BYTES,
    "unclosed_held": HELD,
    "unclosed_held_bytes": HELD * DEFLATER_BYTES,
}
SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, method: str = "GET") -> tuple[int, str, str]:
    """Status, content type and body."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def parse_series(text: str) -> dict[tuple[str, tuple], float]:
    """(name, sorted labels) to value, from the text exposition format."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, labels, value = SERIES.match(line).groups()
        series[name, tuple(sorted(LABEL.findall(labels or "")))] = float(value)
    return series


def deflater_series(text: str, **labels) -> dict[str, float]:
    """The value of each metric of EXPECTED for the Deflater kind, with these labels besides."""
    wanted = tuple(sorted({"kind": DEFLATER, **labels}.items()))
    series = parse_series(text)
    return {name: series.get((name, wanted)) for name in EXPECTED}


def wait_for(what: str, read, expected, timeout: float = 30):
    """Polls `read()` until it returns `expected`; fails with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        seen = read()
        if seen == expected:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: expected {expected}, last seen {seen}")
        time.sleep(0.5)


def start_workload(jdk: Path, tmp_path: Path, agent_options: str, java_options=()) -> RunningJvm:
    classes = compile_program(jdk, "MetricsWorkload", tmp_path / "classes")
    agent = f"-javaagent:{agent_jar()}={agent_options}"
    jvm = RunningJvm(jdk, classes, "MetricsWorkload", java_options=[*java_options, agent], env=env_without_java_options())
    jvm.expect("ready")
    return jvm


def run_workload(jvm: RunningJvm) -> None:
    for command in (f"leak {LEAKED}", f"hold {HELD}", f"close {CLOSED}"):
        jvm.send(command)


def lines_of(jvm: RunningJvm, command: str) -> list[str]:
    """What the workload prints for `command`, up to its `done`."""
    jvm.send(command, then=None)
    lines = []
    while (line := jvm.lines.get(timeout=30)) != "done":
        lines.append(line)
    return lines


def metrics_address(agent_dir: Path, timeout: float = 30) -> str:
    """HOST:PORT of /metrics, from the agent's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = agent_dir / "agent.log"
        found = re.search(r"metrics at http://(\S+)/metrics", log.read_text() if log.exists() else "")
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise TimeoutError(f"no metrics address in {agent_dir / 'agent.log'}")


def jcmd(jdk: Path, pid: int, command: str) -> str:
    return subprocess.run([str(jdk / "bin" / "jcmd"), str(pid), command], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def agent_threads(jdk: Path, pid: int) -> dict[str, bool]:
    """The agent's threads (named unclosed-...), each with whether it is a daemon."""
    threads = re.findall(r'^"(unclosed-[^"]*)" #\d+ (?:\[\d+\] )?(daemon )?', jcmd(jdk, pid, "Thread.print"), re.M)
    return {name: daemon == "daemon " for name, daemon in threads}


@pytest.mark.parametrize("jdk", JDKS, ids=lambda jdk: f"jdk{java_feature(jdk)}")
def test_the_endpoint_serves_the_exact_counts_in_the_text_format(jdk, tmp_path):
    jvm = start_workload(jdk, tmp_path, f"metrics=0,control=false,dir={tmp_path / 'agent'}")
    try:
        address = metrics_address(tmp_path / "agent")
        assert re.fullmatch(r"127\.0\.0\.1:[1-9]\d*", address), "loopback, and the port as bound"
        assert f"unclosed.metrics={address.replace(':', chr(92) + ':')}" in jcmd(jdk, jvm.pid, "VM.system_properties")
        run_workload(jvm)
        url = f"http://{address}/metrics"
        wait_for("the Deflater series", lambda: deflater_series(http_get(url)[2], family="zlib"), EXPECTED)

        status, content_type, text = http_get(url)
        assert (status, content_type) == (200, "text/plain; version=0.0.4; charset=utf-8")
        for name, value in EXPECTED.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            assert f"\n# TYPE {name} {kind}\n{name}{{kind=\"{DEFLATER}\",family=\"zlib\"}} {value}\n" in text
        assert text.endswith("\n# TYPE unclosed_sample gauge\nunclosed_sample 1\n")
        assert http_get(f"http://{address}/other")[0] == 404
        assert http_get(url, method="POST")[0] == 405
        # Its own threads only, all daemons: the JVM exits by itself. No MBean server: the application made none.
        assert agent_threads(jdk, jvm.pid) == {"unclosed-reaper": True, "unclosed-metrics": True, "unclosed-jmx": True}
        assert "com.sun.jmx.mbeanserver.JmxMBeanServer" not in jcmd(jdk, jvm.pid, "GC.class_histogram")
        assert jvm.finish() == 0
    finally:
        jvm.kill()


@pytest.fixture
def prometheus(tmp_path):
    """Starts Debian's Prometheus on a free port with the README's scrape config (every second)
    and alert rule, scraping TARGET: `prometheus(target)` returns its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("no prometheus: install Debian's prometheus (bash .ci/setup does)")
    started = []

    def start(target: str) -> str:
        folder = tmp_path / "prometheus"
        folder.mkdir()
        (folder / "alerts.yml").write_text(readme_snippet("prometheus-alert"))
        scrape = readme_snippet("prometheus-scrape")
        assert "scrape_interval: 15s" in scrape and '"127.0.0.1:9464"' in scrape
        (folder / "prometheus.yml").write_text(
            f"global:\n  evaluation_interval: 1s\nrule_files: [{json.dumps(str(folder / 'alerts.yml'))}]\n"
            + scrape.replace("scrape_interval: 15s", "scrape_interval: 1s").replace("127.0.0.1:9464", target))
        port = free_port()
        log = open(folder / "prometheus.log", "w")
        started.append(subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}"
        wait_for("prometheus ready", lambda: _status(f"{url}/-/ready"), 200, timeout=60)
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(30)


def _status(url: str) -> int | None:
    try:
        return http_get(url)[0]
    except OSError:
        return None


def query(prometheus_url: str, promql: str) -> dict[str, str]:
    """An instant query's result: each series' kind to its value as Prometheus answers it."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = json.loads(http_get(url)[2])
    assert answer["status"] == "success", answer
    return {r["metric"].get("kind", ""): r["value"][1] for r in answer["data"]["result"]}


def test_a_prometheus_server_scrapes_the_leak_counts_and_the_readme_alert_fires(tmp_path, prometheus):
    jvm = start_workload(JDK17, tmp_path, f"metrics=0,control=false,dir={tmp_path / 'agent'}")
    try:
        url = prometheus(metrics_address(tmp_path / "agent"))
        # Held first, so that the series exist before the leaks: the alert's increase() sees them come.
        jvm.send(f"hold {HELD}")
        wait_for("Prometheus: held", lambda: query(url, f'unclosed_held{{kind="{DEFLATER}"}}'), {DEFLATER: str(HELD)})
        jvm.send(f"leak {LEAKED}")
        jvm.send(f"close {CLOSED}")
        for name, value in EXPECTED.items():
            wait_for(f"Prometheus: {name}", lambda: query(url, f'{name}{{kind="{DEFLATER}",family="zlib"}}'),
                     {DEFLATER: str(value)})
        assert query(url, "unclosed_sample") == {"": "1"}

        def firing() -> list[tuple[str, str]]:
            alerts = json.loads(http_get(f"{url}/api/v1/alerts")[2])["data"]["alerts"]
            return [(a["labels"]["alertname"], a["labels"]["kind"]) for a in alerts if a["state"] == "firing"]
        wait_for("the README's alert", firing, [("NativeResourceLeaked", DEFLATER)])
        assert jvm.finish() == 0
    finally:
        jvm.kill()


def test_jmx_exporter_reads_the_mbeans_with_the_readme_rule(tmp_path):
    jars = maven_jars("jmx-exporter", [JMX_EXPORTER], tmp_path / "maven")
    exporter = next(jar for jar in jars if jar.name.startswith("jmx_prometheus_javaagent-"))
    config = tmp_path / "jmx-exporter.yaml"
    config.write_text(readme_snippet("jmx-exporter"))
    port = free_port()
    jvm = start_workload(JDK17, tmp_path, f"control=false,dir={tmp_path / 'agent'}",
                         java_options=[f"-javaagent:{exporter}=127.0.0.1:{port}:{config}"])
    try:
        run_workload(jvm)
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for("jmx_exporter: the Deflater series", lambda: deflater_series(http_get(url)[2]), EXPECTED)
        assert parse_series(http_get(url)[2])["unclosed_sample", ()] == 1
        assert jvm.finish() == 0
    finally:
        jvm.kill()


@pytest.mark.parametrize("jdk", JDKS, ids=lambda jdk: f"jdk{java_feature(jdk)}")
def test_the_mbeans_hold_the_counts_until_detach_unregisters_them(jdk, tmp_path):
    jvm = start_workload(jdk, tmp_path, f"metrics=0,control=false,dir={tmp_path / 'agent'}")
    try:
        address = metrics_address(tmp_path / "agent")
        run_workload(jvm)
        # The first `mbeans` creates the platform MBean server; the agent registers in it within 5 s.
        wait_for("the Deflater's MBean", lambda: [line for line in lines_of(jvm, "mbeans") if f"kind={DEFLATER} " in line], [
            f"dev.unclosed:type=Resources,kind={DEFLATER} Opened={LEAKED + HELD + CLOSED} Released={CLOSED} Leaked={LEAKED}"
            f" Held={HELD} BytesLeaked={LEAKED * DEFLATER_BYTES} BytesHeld={HELD * DEFLATER_BYTES} Sample=1 Family=zlib"])
        agent = next(line for line in lines_of(jvm, "mbeans") if line.startswith("dev.unclosed:type=Agent "))
        assert re.fullmatch(r"dev\.unclosed:type=Agent Version=\S+ TrackingSinceMs=\d{13} Sample=1 DroppedObjects=0"
                            r" DroppedSites=0 DroppedEvents=0 Errors=0 InstrumentationErrors=0", agent), agent

        detach = subprocess.run([str(jdk / "bin" / "java"), "-jar", str(agent_jar()), str(jvm.pid), "detach"],
                                capture_output=True, text=True, timeout=120)
        assert detach.returncode == 0, detach.stderr
        assert lines_of(jvm, "mbeans") == []
        with pytest.raises(OSError):
            http_get(f"http://{address}/metrics")
        assert "unclosed.metrics=" not in jcmd(jdk, jvm.pid, "VM.system_properties")
        wait_for("the agent's threads after detach", lambda: agent_threads(jdk, jvm.pid), {})
        assert jvm.finish() == 0
    finally:
        jvm.kill()


@pytest.mark.parametrize("jdk", JDKS, ids=lambda jdk: f"jdk{java_feature(jdk)}")
@pytest.mark.parametrize("problem", ["not a port", "port in use"])
def test_a_bad_metrics_value_leaves_the_application_running_without_the_agent(jdk, tmp_path, problem):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        value, reason = {
            "not a port": ("9464x", "agent option metrics takes PORT or HOST:PORT, not '9464x'"),
            "port in use": (str(port), f"agent option metrics: cannot listen on 127.0.0.1:{port}: Address already in use"),
        }[problem]
        jvm = start_workload(jdk, tmp_path, f"metrics={value},control=false,dir={tmp_path / 'agent'}")
        try:
            jvm.send("leak 1")
            assert jvm.stderr == [f"unclosed: agent not started: {reason}"]
            wait_for("no thread of the agent's", lambda: agent_threads(jdk, jvm.pid), {})
            assert jvm.finish() == 0
        finally:
            jvm.kill()


@pytest.mark.parametrize("jdk", JDKS, ids=lambda jdk: f"jdk{java_feature(jdk)}")
def test_attach_serves_metrics_on_a_running_jvm(jdk, tmp_path):
    """`unclosed attach PID --metrics 0`: the address on stderr, the exact counts of what happened
    since (and what was alive at the attach, counted apart in the agent but in the same totals)."""
    classes = compile_program(jdk, "MetricsWorkload", tmp_path / "classes")
    jvm = RunningJvm(jdk, classes, "MetricsWorkload", env=env_without_java_options())
    try:
        jvm.expect("ready")
        result = run_cli("attach", jvm.pid, "--metrics", "0", "--dir", tmp_path / "agent")
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"{tmp_path / 'agent'}\n"
        address = re.fullmatch(r"metrics: http://(127\.0\.0\.1:[1-9]\d*)/metrics\n", result.stderr.splitlines(True)[-1])[1]
        run_workload(jvm)
        wait_for("the Deflater series", lambda: deflater_series(http_get(f"http://{address}/metrics")[2], family="zlib"),
                 EXPECTED)
        again = run_cli("attach", jvm.pid, "--metrics", "9464")
        assert (again.returncode, again.stderr) == (1, (
            f"unclosed: error: JVM {jvm.pid} already runs the agent, and its options stay as they are (--metrics not "
            f"applied): `unclosed detach {jvm.pid}` first\n"))
        assert run_cli("detach", jvm.pid).returncode == 0
        assert jvm.finish() == 0
    finally:
        jvm.kill()
