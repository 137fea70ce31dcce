"""The forwarder's name and version, as pyproject.toml says them: the one place the version is written.

Two places to read it from, the first that exists:

- `_pyproject.toml` beside this module: a symbolic link to the project's pyproject.toml. `sam build` copies
  src/ into the function's bundle and installs only the dependencies, so the bundle holds no package
  metadata for the forwarder itself; it copies the link as a plain file, and the deployed function reads
  its version there. In a checkout the link is the project's own file, so the version is never stale.
- the package metadata (importlib.metadata), where the forwarder is installed from its wheel, which does
  not carry the link (pyproject.toml's `include-package-data = false`).

Read once, on first use: the first client needs it (its User-Agent), so a cold start pays once, about 2 ms
in the built bundle for tomllib's import and parse (measured after botocore's import, on this project's
development machine). botocore imports importlib.metadata anyway; asking it first would add a lookup that
finds nothing there (about 0.6 ms), which is why the file comes first.
"""

from __future__ import annotations

import functools
from pathlib import Path

DISTRIBUTION = "eventbridge-forwarder"
_PYPROJECT = Path(__file__).with_name("_pyproject.toml")


@functools.cache
def version() -> str:
    """The version of this forwarder, e.g. "0.1.0"."""
    return read_version(_PYPROJECT)


def read_version(pyproject: Path) -> str:
    """`project.version` of `pyproject` where that file exists, else the installed distribution's version."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return _installed_version()
    import tomllib  # only here: an installed wheel never needs it

    try:
        return tomllib.loads(text)["project"]["version"]
    except (tomllib.TOMLDecodeError, KeyError):
        # A checkout made without symbolic links (git's core.symlinks=false, on Windows) holds the link's
        # target path as text, and so does the bundle built from it.
        raise RuntimeError(f"{pyproject} is not pyproject.toml: check out the project with symbolic links") from None


def user_agent_appid() -> str:
    """The app id botocore puts in every request's User-Agent (`app/eventbridge-forwarder#0.1.0`): AWS-side
    logs can tell the forwarder's requests, and its version, from other callers'. `#` is the AWS SDKs'
    separator of a User-Agent component's name and version (botocore keeps it in an app id)."""
    return f"{DISTRIBUTION}#{version()}"


def _installed_version() -> str:
    from importlib.metadata import version as installed

    return installed(DISTRIBUTION)
