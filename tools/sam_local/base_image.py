"""The Lambda base image `sam local` builds on: AWS's own when Docker can pull it, else a stand-in built here.

SAM's local runner wants ``public.ecr.aws/lambda/python:3.13-<arch>`` and, with ``--skip-pull-image``, takes
whatever image carries that tag. Where the registry cannot be reached, the stand-in is built under the tag:

- a minimal Debian trixie root file system (``debootstrap --variant=minbase``; trixie ships CPython 3.13);
- the runtime interface client (awslambdaric, at the version requirements-dev.txt pins, with its two
  dependencies) in ``/var/runtime``, as AWS's image has it;
- AWS's image's paths, environment and entry point (``aws/aws-lambda-base-images``, Dockerfile.python3.13):
  ``/lambda-entrypoint.sh``, ``/var/runtime/bootstrap``, ``/var/lang/bin/python3.13``, ``/var/task`` as the
  working directory, ``LAMBDA_TASK_ROOT``, ``LAMBDA_RUNTIME_DIR``, ``LANG``, ``TZ``, ``PATH``,
  ``LD_LIBRARY_PATH``; and the runtime interface emulator at ``/usr/local/bin/aws-lambda-rie`` (the one the
  SAM CLI ships), so that ``docker run`` of the image alone works as with AWS's.

It is built once per recipe and reused: the recipe's hash is a label of the image and is written to a stamp
file (``.aws-sam/sam-local/``); a later run finds the image by that label and builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tools.sam_local.engine import EngineUnavailable, docker, install_packages

ROOT = Path(__file__).resolve().parents[2]
STAND_IN_FILES = Path(__file__).resolve().parent / "stand_in"
STAMPS = ROOT / ".aws-sam" / "sam-local"
REPOSITORY = "public.ecr.aws/lambda/python"
PYTHON_VERSION = "3.13"
DEBIAN_SUITE = "trixie"  # its python3 is CPython 3.13
RECIPE_LABEL = "org.eventbridge-forwarder.stand-in-recipe"
# Raise it when the way the stand-in is made changes (what is listed below and stand_in/ count by themselves).
RECIPE_VERSION = "1"
# Lambda's architecture names -> Debian's, and pip's platform tag for the runtime client's wheels.
DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
WHEEL_PLATFORM = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# What the runtime image needs from requirements-dev.txt, at the versions pinned there.
RUNTIME_PACKAGES = ("awslambdaric", "snapshot-restore-py")
# AWS's Dockerfile.python3.13, less its ADDs.
IMAGE_SETTINGS = (
    "ENV LANG=en_US.UTF-8",
    "ENV TZ=:/etc/localtime",
    "ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib"
    ":/opt/lib",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "WORKDIR /var/task",
    'ENTRYPOINT ["/lambda-entrypoint.sh"]',
)
# Left out of the root file system: documentation, manual pages, translations, package caches.
TRIMMED = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")

Log = Callable[[str], None]


def image_tag(arch: str) -> str:
    return f"{REPOSITORY}:{PYTHON_VERSION}-{arch}"


def machine_arch() -> str:
    """This machine's architecture in Lambda's words."""
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(os.uname().machine, "")


def runtime_pins() -> list[str]:
    """The runtime client's requirements as requirements-dev.txt pins them (name==version)."""
    pins = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        name = requirement.split("==", 1)[0].strip().lower()
        if name in RUNTIME_PACKAGES and "==" in requirement:
            pins[name] = requirement
    missing = set(RUNTIME_PACKAGES) - set(pins)
    if missing:
        raise RuntimeError(f"requirements-dev.txt pins no version of {', '.join(sorted(missing))}")
    return [pins[name] for name in RUNTIME_PACKAGES]


def recipe(arch: str) -> str:
    """A hash of everything the stand-in is made from: a change to any of them builds it anew."""
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, arch, DEBIAN_SUITE, *runtime_pins(), *IMAGE_SETTINGS, *TRIMMED):
        digest.update(part.encode() + b"\0")
    for path in sorted(STAND_IN_FILES.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def image_labels(tag: str) -> dict[str, str] | None:
    """The labels of the image under the tag ({} for none), or None when there is no such image."""
    result = docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag, check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout or "null") or {}


def ensure_base_image(arch: str, mode: str, log: Log) -> str:
    """Make sure the base image is there; 'aws' (AWS's own image) or 'stand-in' (built here).

    mode: 'auto' uses AWS's image when Docker has it or can pull it, else the stand-in; 'aws' insists on
    AWS's image; 'stand-in' never tries the registry.
    """
    tag = image_tag(arch)
    wanted = recipe(arch)
    labels = image_labels(tag)
    if labels is not None and RECIPE_LABEL not in labels and mode != "stand-in":
        log(f"base image: AWS's {tag}, already here")
        return "aws"
    if labels is not None and labels.get(RECIPE_LABEL) == wanted and mode != "aws":
        write_stamp(arch, tag, wanted)
        log(f"base image: the stand-in {tag} (recipe {wanted}), built before")
        return "stand-in"
    if mode != "stand-in":
        log(f"base image: pulling {tag}")
        pulled = docker("pull", "--quiet", tag, check=False, timeout=900)
        if pulled.returncode == 0:
            log(f"base image: AWS's {tag}, pulled")
            return "aws"
        reason = (pulled.stderr or pulled.stdout).strip().splitlines()[-1:] or ["no reason given"]
        if mode == "aws":
            raise EngineUnavailable(f"Docker could not pull {tag}: {reason[0]}")
        log(f"base image: cannot pull ({reason[0]}); building a stand-in under that tag instead")
    build_stand_in(arch, tag, wanted, log)
    write_stamp(arch, tag, wanted)
    return "stand-in"


def write_stamp(arch: str, tag: str, wanted: str) -> None:
    image_id = docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / f"python{PYTHON_VERSION}-{arch}.stamp").write_text(f"{tag} {wanted} {image_id}\n")


def build_stand_in(arch: str, tag: str, wanted: str, log: Log) -> None:
    if arch != machine_arch():
        raise EngineUnavailable(
            f"the stand-in for {arch} is built natively only (this machine is {machine_arch() or os.uname().machine});"
            f" use Architecture={machine_arch()} locally, or a Docker that can pull {tag}"
        )
    if shutil.which("debootstrap") is None:
        install_packages(["debootstrap"], log)
    with tempfile.TemporaryDirectory(prefix="lambda-stand-in-", dir="/var/tmp") as scratch:
        rootfs = Path(scratch) / "rootfs"
        log(f"stand-in: debootstrap Debian {DEBIAN_SUITE} ({DEBIAN_ARCH[arch]}, minbase, python3) into {rootfs}")
        mirror = [os.environ["DEBIAN_MIRROR"]] if os.environ.get("DEBIAN_MIRROR") else []  # else debootstrap's own
        run_logged(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3",
                f"--arch={DEBIAN_ARCH[arch]}",
                DEBIAN_SUITE,
                str(rootfs),
                *mirror,
            ],
            Path(scratch) / "debootstrap.log",
        )
        for part in TRIMMED:
            shutil.rmtree(rootfs / part, ignore_errors=True)
        lay_out_runtime(rootfs, arch, log)
        log(f"stand-in: importing the root file system as {tag}")
        changes = [
            arg for setting in (*IMAGE_SETTINGS, f"LABEL {RECIPE_LABEL}={wanted}") for arg in ("--change", setting)
        ]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)  # noqa: S607
        try:
            docker("import", *changes, "-", tag, stdin=tar.stdout, timeout=900)
        finally:
            tar.stdout.close()
            tar.wait()
    # SAM's own image on top (its emulator added) is built once per base tag: drop the one made from the old base.
    docker("image", "rm", "--force", f"{REPOSITORY}:{PYTHON_VERSION}-rapid-{arch}", check=False)


def lay_out_runtime(rootfs: Path, arch: str, log: Log) -> None:
    """AWS's runtime paths in the root file system: the client, the bootstrap, the entry point, python."""
    pins = runtime_pins()
    log(f"stand-in: {', '.join(pins)} into /var/runtime")
    subprocess.run(  # noqa: S603 - pip of the project's own interpreter, pinned requirements
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(rootfs / "var/runtime"),
            "--only-binary=:all:",
            "--platform",
            WHEEL_PLATFORM[arch],
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            *pins,
        ],
        check=True,
    )
    shutil.copy2(STAND_IN_FILES / "bootstrap", rootfs / "var/runtime/bootstrap")
    shutil.copy2(STAND_IN_FILES / "lambda-entrypoint.sh", rootfs / "lambda-entrypoint.sh")
    rie = sam_rie(arch)
    if rie is not None:
        (rootfs / "usr/local/bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(rie, rootfs / "usr/local/bin/aws-lambda-rie")
    lang_bin = rootfs / "var/lang/bin"
    lang_bin.mkdir(parents=True, exist_ok=True)
    for name in (f"python{PYTHON_VERSION}", "python3", "python"):
        (lang_bin / name).symlink_to(f"/usr/bin/python{PYTHON_VERSION}")
    for directory in ("var/task", "opt"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)


def sam_rie(arch: str) -> Path | None:
    """The runtime interface emulator inside the SAM CLI's package, if .venv-sam has it."""
    found = sorted((ROOT / ".venv-sam").glob(f"lib/python*/site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"))
    return found[0] if found else None


def run_logged(args: list[str], log_file: Path) -> None:
    with open(log_file, "wb") as out:
        result = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace")[-1500:]
        raise EngineUnavailable(f"{args[0]} exited {result.returncode}:\n{tail}")
