"""One environment variable -> one checked value, or a ConfigurationError that names the variable.

The readers every setting shares (settings.py says which variable is read how): a value is stripped, an
empty one means "not set", and whatever is wrong is said with the variable's name and the value found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def raw_value(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def required(env: Mapping[str, str], name: str, max_len: int) -> str:
    value = raw_value(env, name)
    if not value:
        raise ConfigurationError(f"{name} is required and must not be empty")
    if len(value) > max_len:
        raise ConfigurationError(f"{name} must be at most {max_len} characters, got {len(value)}")
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = raw_value(env, name).lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (any case); the first when unset."""
    raw = raw_value(env, name).lower() or choices[0]
    if raw not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = raw_value(env, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}")
    return value


def queue_url(env: Mapping[str, str], name: str) -> str | None:
    value = raw_value(env, name)
    if not value:
        return None
    if not re.fullmatch(r"https?://[^\s/]+/[0-9]+/[A-Za-z0-9_-]{1,75}(\.fifo)?", value):
        raise ConfigurationError(f"{name} must be an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")
    return value


def bucket(env: Mapping[str, str], name: str) -> str | None:
    value = raw_value(env, name)
    if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ConfigurationError(f"{name} must be an S3 bucket name (not an ARN or URL), got {value!r}")
    return value or None


def expression(env: Mapping[str, str], name: str) -> ParsedResult | None:
    raw = raw_value(env, name)
    if not raw:
        return None
    try:
        compiled = jmespath.compile(raw)
    except JMESPathError as error:
        raise ConfigurationError(f"{name} is not a valid JMESPath expression: {error}") from None
    except RecursionError:  # the parser recurses once per nesting level (parentheses, brackets)
        raise ConfigurationError(f"{name} is nested too deeply to be compiled") from None
    problem = _function_problem(compiled.parsed)
    if problem:
        raise ConfigurationError(f"{name} is not a valid JMESPath expression: {problem}")
    return compiled


def _function_problem(tree: dict) -> str | None:
    """An unknown function, or one given the wrong number of arguments. jmespath.compile checks only the
    grammar and leaves these to run time, where such an expression would fail on every record alike."""
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))
        if node.get("type") != "function_expression":
            continue
        function, given = node["value"], len(node["children"])
        spec = Functions.FUNCTION_TABLE.get(function)
        if spec is None:
            return f"unknown function {function}()"
        signature = spec["signature"]
        variadic = bool(signature) and signature[-1].get("variadic", False)
        if given < len(signature) or (given > len(signature) and not variadic):
            expected = f"{'at least ' if variadic else ''}{len(signature)}"
            return f"{function}() takes {expected} argument(s), given {given}"
    return None
