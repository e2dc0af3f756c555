"""What every part of the stand-in shares: its errors and the scenario's time and key checks."""

import logging
import re
import time
from datetime import datetime
from datetime import timezone

LOG = logging.getLogger("imagebuilder_endpoint")


class EndpointError(Exception):
    """An API error: rest-json (``x-amzn-ErrorType``, ``{"message": ...}``) for Image Builder, XML for EC2."""

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ScenarioError(ValueError):
    """The scenario document is malformed."""


class ControlError(Exception):
    """A control-API request the endpoint refuses, with the HTTP status to answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


AGO = re.compile(r"^-P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")


def epoch(value, where):
    """Scenario timestamps are ISO 8601 strings, epoch seconds, or a negative ISO 8601 duration such as ``-PT5M``
    (that long before the scenario is loaded, in whole seconds); the wire format is epoch seconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected an ISO 8601 string or epoch seconds, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    ago = AGO.match(value) if isinstance(value, str) and value != "-P" else None
    if ago:
        days, hours, minutes, seconds = (int(part or 0) for part in ago.groups())
        return float(int(time.time()) - ((days * 24 + hours) * 60 + minutes) * 60 - seconds)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from exc
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    raise ScenarioError(f"{where}: expected an ISO 8601 string or epoch seconds, got {value!r}")


def check_keys(entry, allowed, where):
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


def date_time(seconds):
    """A DateTime string member (ImageSummary.dateCreated, ...), as the service writes it: UTC, milliseconds, Z."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def image_parts(arn):
    """(name, X.Y.Z, build) of an image build version ARN."""
    name, version, build = arn.split(":image/", 1)[1].split("/")
    return name, version, build


def wanted_filters(operation, params, allowed):
    """A listing's ``filters`` as {name: values}: each name once and one the operation takes."""
    wanted = {}
    for item in params.get("filters", []):
        name = item.get("name")
        if name not in allowed or "values" not in item or name in wanted:
            problem = "is given more than once" if name in wanted else f"is not valid for {operation}"
            raise EndpointError(
                "InvalidRequestException", f"Filter '{name}' {problem}; use each of {list(allowed)} once"
            )
        wanted[name] = item["values"]
    return wanted


def name_matches(pattern, name):
    """A name filter value: exact, or with ``*`` at the start and/or the end; case-sensitive."""
    body = pattern.strip("*")
    if "*" in body:
        message = f"Filter value '{pattern}': '*' is allowed only at the start or end"
        raise EndpointError("InvalidRequestException", message)
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return body in name
    if pattern.startswith("*"):
        return name.endswith(body)
    return name.startswith(body) if pattern.endswith("*") else name == pattern


def checked_shape(model, shape_name, value, where):
    """A scenario value that an answer carries as is, checked against its shape in ``model`` when the scenario loads
    (the output check would only find it when sent)."""
    errors = model.validator.errors(model.model.shape_for(shape_name), value, where)
    if errors:
        raise ScenarioError("; ".join(errors))
    return value


def listed(scenario, key):
    """A top-level list of the scenario (empty when absent), each entry an object."""
    entries = scenario.get(key, [])
    if not isinstance(entries, list):
        raise ScenarioError(f"scenario.{key}: expected a list of objects")
    return [(entry, f"{key}[{index}]") for index, entry in enumerate(entries)]


def matching_id(pattern, value, what, where):
    if not isinstance(value, str) or not pattern.match(value):
        raise ScenarioError(f"{where}: expected {what}, got {value!r}")
    return value


def tag_list(tags, where):
    """A scenario's ``tags`` object as EC2 writes tags: ``[{"Key": ..., "Value": ...}]`` (None when there are none)."""
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ScenarioError(f"{where}: expected an object of tag keys and string values")
    return [{"Key": key, "Value": value} for key, value in tags.items()] or None
