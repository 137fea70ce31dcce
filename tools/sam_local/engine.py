"""The Docker engine `sam local` needs: Debian's docker.io installed when missing, dockerd started in the
background when it does not answer (and left running), and the host's address on Docker's bridge.

Every step says what it does; what cannot be done (not root, no package archive, dockerd refusing to start)
raises ``EngineUnavailable`` with the reason, for the tests to report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], None]
DOCKERD_LOG = Path("/var/log/dockerd.log")
START_TIMEOUT_S = 60


class EngineUnavailable(RuntimeError):
    """The Docker engine (or an image it needs) cannot be had on this machine; the message says why."""


def docker(*args: str, check: bool = True, timeout: float = 120, stdin=None) -> subprocess.CompletedProcess[str]:
    """The docker command line, its output captured."""
    if shutil.which("docker") is None:
        raise EngineUnavailable("no docker command on PATH")
    result = subprocess.run(  # noqa: S603 - fixed docker arguments
        ["docker", *args],  # noqa: S607 - the docker on PATH, as a user runs it
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,  # noqa: S607
    )
    if check and result.returncode != 0:
        raise EngineUnavailable(f"docker {' '.join(args[:2])} failed: {(result.stderr or result.stdout).strip()}")
    return result


def answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return docker("version", "--format", "{{.Server.Version}}", check=False, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def why_not() -> str:
    """What the docker command says when the engine does not answer (its last line)."""
    if shutil.which("docker") is None:
        return "no docker command"
    result = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=20)
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else "no answer"


def install_packages(packages: list[str], log: Log) -> None:
    """Debian packages through apt-get (root only)."""
    if os.geteuid() != 0:
        raise EngineUnavailable(f"{' '.join(packages)} missing, and only root may install it (apt-get)")
    if shutil.which("apt-get") is None:
        raise EngineUnavailable(f"{' '.join(packages)} missing, and there is no apt-get to install it with")
    log(f"engine: apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise EngineUnavailable(
                f"{' '.join(command[:2])} exited {result.returncode}: {result.stderr.strip()[-800:]}"
            )


def ensure_engine(log: Log) -> None:
    """A Docker engine that answers, installing and starting Debian's when needed."""
    if answers():
        return
    if os.geteuid() != 0:
        raise EngineUnavailable(
            f"the Docker engine does not answer this user ({why_not()}), and only root may "
            "install (apt-get install docker.io) or start (dockerd) it"
        )
    if shutil.which("dockerd") is None:
        install_packages(["docker.io"], log)
    log(f"engine: starting dockerd in the background (its log: {DOCKERD_LOG}); it is left running")
    with open(DOCKERD_LOG, "ab") as out:
        daemon = subprocess.Popen(  # noqa: S603 - Debian's dockerd, no flags
            ["dockerd"],  # noqa: S607 - Debian's, on PATH
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # noqa: S607
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if answers():
            return
        if daemon.poll() is not None and not answers():
            tail = DOCKERD_LOG.read_text(errors="replace")[-1500:]
            raise EngineUnavailable(f"dockerd exited with status {daemon.returncode}:\n{tail}")
        time.sleep(0.5)
    raise EngineUnavailable(f"dockerd did not answer within {START_TIMEOUT_S} s (see {DOCKERD_LOG})")


def bridge_address() -> str:
    """The host's address on Docker's default bridge: what host.docker.internal (host-gateway) names.

    The default bridge's IPAM config names no gateway (Docker 20.10): the address is its interface's."""
    result = docker(
        "network",
        "inspect",
        "bridge",
        "--format",
        '{{range .IPAM.Config}}{{.Gateway}} {{end}}|{{index .Options "com.docker.network.bridge.name"}}',
    )
    gateways, _, interface = result.stdout.strip().partition("|")
    addresses = [a for a in gateways.split() if "." in a]
    if not addresses and interface:
        shown = subprocess.run(
            ["ip", "-4", "-o", "addr", "show", "dev", interface],  # noqa: S603, S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        addresses = [word.split("/")[0] for line in shown.splitlines() for word in line.split()[3:4]]
    if not addresses:
        raise EngineUnavailable(f"Docker's bridge network ({interface or 'bridge'}) has no IPv4 address")
    return addresses[0]
