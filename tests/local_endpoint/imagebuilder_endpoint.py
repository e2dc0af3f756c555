"""A local stand-in for the EC2 Image Builder lifecycle-execution API, for tests and benchmarks only.

It speaks rest-json exactly as botocore's ``imagebuilder`` client sends it, validates every request against the
operation's input shape (patterns included, which botocore does not check) and every answer against the output
shape before sending it, so it cannot drift from the service model; where the model's documentation states a rule
(which ARNs a listing takes, what StartResourceStateUpdate accepts and when it runs an execution), it follows it.
State comes from a JSON scenario; status timelines advance per GetLifecycleExecution call (or by wall-clock time),
faults can be injected per call, and answers can leave out optional members on demand (``omit_members``).
On the same port it answers EC2 DescribeImages (query protocol in, XML out, checked against botocore's ec2 model) from
the AMIs of the image records, for a request whose SigV4 credential scope names ec2; ``/_endpoint/run_policy`` runs a
lifecycle policy as the scenario's ``policy_runs`` writes it out.
See README.md in this directory for the scenario format, the control API and the fault rules.
"""

import argparse
import bisect
import copy
import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from datetime import datetime
from datetime import timezone
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import botocore.session

LOG = logging.getLogger("imagebuilder_endpoint")

SERVICE = "imagebuilder"
OPERATIONS = (
    "GetLifecycleExecution",
    "ListLifecycleExecutions",
    "ListLifecycleExecutionResources",
    "CancelLifecycleExecution",
    "StartResourceStateUpdate",
    "GetImage",
    "ListImages",
    "ListImageBuildVersions",
    "CreateLifecyclePolicy",
    "GetLifecyclePolicy",
    "UpdateLifecyclePolicy",
    "DeleteLifecyclePolicy",
    "ListLifecyclePolicies",
    "TagResource",
    "UntagResource",
)
CONTROL_PREFIX = "/_endpoint/"
DEFAULT_PAGE_SIZE = 25
RUNNING = frozenset(("PENDING", "IN_PROGRESS"))
BUSY = frozenset(("PENDING", "IN_PROGRESS", "CANCELLING"))
TERMINAL = frozenset(("SUCCESS", "FAILED", "CANCELLED"))
DEFAULT_TIMELINE = (("PENDING", 1, None), ("IN_PROGRESS", 2, None), ("SUCCESS", None, None))
STATE_TO_ACTION = {"AVAILABLE": "AVAILABLE", "DEPRECATED": "DEPRECATE", "DISABLED": "DISABLE", "DELETED": "DELETE"}
UNDERLYING_RESOURCES = ("amis", "snapshots", "containers")
# The top-level member holding a read's result: omit_members "*" keeps it (its contents stripped).
READ_RESULT_MEMBERS = {
    "GetLifecycleExecution": "lifecycleExecution",
    "ListLifecycleExecutions": "lifecycleExecutions",
    "ListLifecycleExecutionResources": "resources",
    "GetImage": "image",
    "ListImages": "imageVersionList",
    "ListImageBuildVersions": "imageSummaryList",
    "GetLifecyclePolicy": "lifecyclePolicy",
    "ListLifecyclePolicies": "lifecyclePolicySummaryList",
}
# A policy's members as Create/Update send them; Update replaces all of them (name and tags excepted).
POLICY_MEMBERS = ("description", "status", "executionRole", "resourceType", "policyDetails", "resourceSelection")
SUMMARY_MEMBERS = (
    "arn",
    "name",
    "description",
    "status",
    "executionRole",
    "resourceType",
    "dateCreated",
    "dateUpdated",
    "dateLastRun",
    "tags",
)
POLICY_FILTERS = ("name", "resourceType", "status")
# StartResourceStateUpdate: "The image must be in one of these terminal states: AVAILABLE, DEPRECATED, DISABLED,
# FAILED, or CANCELLED. Images with FAILED or CANCELLED status can transition only to DELETED." Container-based images
# have DELETED only.
UPDATABLE_IMAGE_STATUSES = frozenset(("AVAILABLE", "DEPRECATED", "DISABLED", "FAILED", "CANCELLED"))
DELETE_ONLY_IMAGE_STATUSES = frozenset(("FAILED", "CANCELLED"))
IMAGE_TYPES = ("AMI", "DOCKER")
# ListImages' and ListImageBuildVersions' filters (their documentation lists these five), by the summary member.
IMAGE_FILTERS = ("name", "osVersion", "platform", "type", "version")
# What an image record gives when the scenario leaves it out (the scenario's own key: the API member's name).
IMAGE_DEFAULTS = {
    "platform": "Linux",
    "osVersion": "Amazon Linux 2023",
    "buildType": "USER_INITIATED",
    "imageSource": "CUSTOM",
    "dateCreated": "2024-05-01T00:00:00Z",
}
# The ImageSummary members GetImage's Image shares (Image has no owner).
IMAGE_SUMMARY_ONLY = ("owner",)
FAULT_KINDS = ("error", "delay", "drop", "truncate", "garbage")
OUTPUT_INVALID_CODE = "LocalEndpointOutputValidationError"

# EC2, on the same port: a request whose SigV4 credential scope names the ec2 service (query protocol, XML answers).
EC2 = "ec2"
SERVICES = (SERVICE, EC2)
EC2_OPERATIONS = ("DescribeImages",)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
# EC2 models no error shapes: the status of the codes the endpoint sends (and fault rules may name), as EC2 sends them.
EC2_ERROR_STATUS = {
    "RequestLimitExceeded": 503,
    "Unavailable": 503,
    "InternalError": 500,
    "AuthFailure": 401,
    "UnauthorizedOperation": 403,
    "DryRunOperation": 412,
    "InvalidAction": 400,
    "UnsupportedOperation": 400,
    "NoSuchVersion": 400,
    "MissingParameter": 400,
    "UnknownParameter": 400,
    "InvalidParameterValue": 400,
    "InvalidParameterCombination": 400,
    "InvalidPaginationToken": 400,
    "InvalidAMIID.Malformed": 400,
    "InvalidAMIID.NotFound": 400,
}
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# The stand-in knob on an image's AMI resource: what EC2 DescribeImages says of that AMI.
AMI_EC2_KEYS = ("public", "shared_accounts", "last_launched", "tags", "snapshots")
# The Image Builder image status -> the AMI's EC2 state; a DELETED image's AMIs are deregistered (never listed).
# EC2 has no "deprecated" state: a deprecated AMI is "available" with a DeprecationTime in the past.
AMI_STATES = {"AVAILABLE": "available", "DEPRECATED": "available", "DISABLED": "disabled", "FAILED": "failed"}


class EndpointError(Exception):
    """An API error answered as rest-json: ``x-amzn-ErrorType`` header, ``{"message": ...}`` body."""

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


_AGO = re.compile(r"^-P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")


def _epoch(value, where):
    """Scenario timestamps are ISO 8601 strings, epoch seconds, or a negative ISO 8601 duration such as ``-PT5M``
    (that long before the scenario is loaded, in whole seconds); the wire format is epoch seconds."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected an ISO 8601 string or epoch seconds, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    ago = _AGO.match(value) if isinstance(value, str) and value != "-P" else None
    if ago:
        days, hours, minutes, seconds = (int(part or 0) for part in ago.groups())
        return float(int(time.time()) - ((days * 24 + hours) * 60 + minutes) * 60 - seconds)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    raise ScenarioError(f"{where}: expected an ISO 8601 string or epoch seconds, got {value!r}")


def _check_keys(entry, allowed, where):
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: expected an object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")


class ShapeValidator:
    """Checks a JSON-like value against a botocore shape: types, required members, min/max, enums, patterns."""

    def __init__(self):
        self._patterns = {}

    def errors(self, shape, value, path):
        found = []
        self._check(shape, value, path, found)
        return found

    def _check(self, shape, value, path, found):
        if value is None:
            found.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
            return
        getattr(self, "_check_" + shape.type_name, self._check_unknown)(shape, value, path, found)

    def _check_unknown(self, shape, value, path, found):
        found.append(f"Value at '{path}' has a shape type {shape.type_name} the local endpoint cannot check")

    def _check_structure(self, shape, value, path, found):
        if not isinstance(value, dict):
            found.append(f"Value at '{path}' failed to satisfy constraint: Member must be a structure")
            return
        for name in shape.required_members:
            if name not in value:
                found.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
                )
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                found.append(f"Unknown member '{_join(path, name)}'; the model allows {sorted(shape.members)}")
            else:
                self._check(member, item, _join(path, name), found)

    def _check_list(self, shape, value, path, found):
        if not isinstance(value, list):
            found.append(f"Value at '{path}' failed to satisfy constraint: Member must be a list")
            return
        self._check_size(shape, len(value), path, "have length", found)
        for index, item in enumerate(value):
            self._check(shape.member, item, f"{path}.{index + 1}", found)

    def _check_map(self, shape, value, path, found):
        if not isinstance(value, dict):
            found.append(f"Value at '{path}' failed to satisfy constraint: Member must be a map")
            return
        self._check_size(shape, len(value), path, "have length", found)
        for key, item in value.items():
            self._check(shape.key, key, f"{path}.key({key})", found)
            self._check(shape.value, item, f"{path}.value({key})", found)

    def _check_string(self, shape, value, path, found):
        if not isinstance(value, str):
            found.append(f"Value {value!r} at '{path}' failed to satisfy constraint: Member must be a string")
            return
        self._check_size(shape, len(value), path, "have length", found)
        if shape.enum and value not in shape.enum:
            found.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern is not None and self._compiled(pattern).search(value) is None:
            found.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )

    def _check_integer(self, shape, value, path, found):
        if isinstance(value, bool) or not isinstance(value, int):
            found.append(f"Value {value!r} at '{path}' failed to satisfy constraint: Member must be an integer")
            return
        self._check_size(shape, value, path, "have value", found)

    _check_long = _check_integer

    def _check_boolean(self, shape, value, path, found):
        if not isinstance(value, bool):
            found.append(f"Value {value!r} at '{path}' failed to satisfy constraint: Member must be a boolean")

    def _check_timestamp(self, shape, value, path, found):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found.append(f"Value {value!r} at '{path}' failed to satisfy constraint: Member must be epoch seconds")

    @staticmethod
    def _check_size(shape, size, path, what, found):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and size < low:
            found.append(
                f"Value at '{path}' failed to satisfy constraint: Member must {what} greater than or equal to {low}"
            )
        if high is not None and size > high:
            found.append(
                f"Value at '{path}' failed to satisfy constraint: Member must {what} less than or equal to {high}"
            )

    def _compiled(self, pattern):
        compiled = self._patterns.get(pattern)
        if compiled is None:
            compiled = self._patterns[pattern] = re.compile(pattern)
        return compiled


def _join(path, name):
    return f"{path}.{name}" if path else name


def _validation_message(errors):
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors)


class _LoadedOnce:
    """A model's parts, built once per process and class (loading a botocore model is slow), on first use."""

    _instance = None
    _instance_lock = threading.Lock()

    @classmethod
    def get(cls):
        with cls._instance_lock:
            if cls.__dict__.get("_instance") is None:
                cls._instance = cls()
            return cls._instance


class ServiceModel(_LoadedOnce):
    """The parts of botocore's imagebuilder model the endpoint needs, loaded once per process."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model(SERVICE)
        self.routes = {}
        # Paths with {member} labels (TagResource, UntagResource): (method, compiled path, operation).
        self.templates = []
        for name in self.model.operation_names:
            http = self.model.operation_model(name).http
            path = urlsplit(http["requestUri"]).path
            if "{" in path:
                pattern = re.sub(r"\\\{([A-Za-z]+)(?:\\\+)?\\\}", r"(?P<\1>[^/]+)", re.escape(path))
                self.templates.append((http["method"], re.compile(f"^{pattern}$"), name))
            else:
                self.routes[(http["method"], path)] = name
        self.operations = {name: self.model.operation_model(name) for name in OPERATIONS}
        self.validator = ShapeValidator()
        # The two ARN kinds ListLifecycleExecutions accepts, recognised by the patterns of the model's own shapes.
        self.image_build_version_arn = re.compile(self.model.shape_for("ImageBuildVersionArn").metadata["pattern"])
        self.lifecycle_policy_arn = re.compile(self.model.shape_for("LifecyclePolicyArn").metadata["pattern"])
        self.output_member_names = set()
        for operation in self.operations.values():
            _collect_member_names(operation.output_shape, self.output_member_names, set())

    def error_status(self, code):
        """The HTTP status the model gives an error shape, or None when the code is not a modeled error."""
        if code not in self.model.shape_names:
            return None
        shape = self.model.shape_for(code)
        if not shape.metadata.get("exception"):
            return None
        return shape.metadata.get("error", {}).get("httpStatusCode", 400)

    def route(self, method, path):
        """The operation a request names and its URI members (percent-decoded), or (None, {})."""
        operation = self.routes.get((method, path))
        if operation is not None:
            return operation, {}
        for template_method, pattern, name in self.templates:
            match = pattern.match(path) if template_method == method else None
            if match:
                return name, {key: unquote(value) for key, value in match.groupdict().items()}
        return None, {}

    def page_bounds(self, operation):
        shape = self.operations[operation].input_shape.members["maxResults"]
        low, high = shape.metadata.get("min", 1), shape.metadata.get("max", DEFAULT_PAGE_SIZE)
        return low, high, min(DEFAULT_PAGE_SIZE, high)

    def parse_request(self, operation, query, body, uri_params=None):
        """Rebuild the parameters botocore serialized: URI and querystring members from the URL, the rest from JSON."""
        shape = self.operations[operation].input_shape
        params = dict(uri_params or {})
        wire_to_member = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") == "querystring":
                wire_to_member[member.serialization.get("name", name)] = (name, member)
        for wire, values in parse_qs(query, keep_blank_values=True).items():
            if wire not in wire_to_member:
                raise EndpointError("InvalidRequestException", f"Unknown query parameter '{wire}'")
            name, member = wire_to_member[wire]
            if member.type_name == "list":
                params[name] = [_from_query(member.member, value, name) for value in values]
                continue
            if len(values) != 1:
                raise EndpointError("InvalidRequestException", f"Query parameter '{wire}' must appear once")
            params[name] = _from_query(member, values[0], name)
        if body.strip():
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise EndpointError("InvalidRequestException", f"The request body is not valid JSON: {exc}") from exc
            if not isinstance(document, dict):
                raise EndpointError("InvalidRequestException", "The request body must be a JSON object")
            for name, value in document.items():
                member = shape.members.get(name)
                if member is None or member.serialization.get("location"):
                    raise EndpointError(
                        "InvalidRequestException", f"Unknown parameter '{name}' in the body of {operation}"
                    )
                params[name] = value
        return params

    def check_input(self, operation, params):
        errors = self.validator.errors(self.operations[operation].input_shape, params, "")
        if errors:
            raise EndpointError("InvalidRequestException", _validation_message(errors))

    def output_errors(self, operation, result):
        return self.validator.errors(self.operations[operation].output_shape, result, "")

    def without_members(self, operation, result, omit):
        """A copy of the answer without the optional members ``omit`` names ("*": all of them), at every depth.

        With "*" a read keeps the top-level member that holds its result (its contents are stripped all the same).
        The answer itself is never changed: it may share nested objects with the stored state.
        """
        if not omit:
            return result
        shape = self.operations[operation].output_shape
        keep = READ_RESULT_MEMBERS.get(operation) if omit == "*" else None
        return {
            name: _without(shape.members[name], value, omit)
            for name, value in result.items()
            if name == keep or not _omitted(shape, name, omit)
        }


class Ec2Model(_LoadedOnce):
    """The parts of botocore's ec2 model the endpoint needs (query protocol in, XML out), loaded on first use."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model(EC2)
        self.api_version = self.model.metadata["apiVersion"]
        self.namespace = self.model.metadata["xmlNamespace"].rstrip("/") + "/"
        self.operations = {name: self.model.operation_model(name) for name in EC2_OPERATIONS}
        self.validator = ShapeValidator()

    def action(self, form):
        """The Action a form names, after checking it and the API version: an EndpointError with EC2's code if not."""
        action = _single(form, "Action")
        if action is None:
            raise EndpointError("MissingAction", "The request must contain the parameter Action", 400)
        if action not in self.model.operation_names:
            raise EndpointError("InvalidAction", f"The action {action} is not valid for this web service.", 400)
        if action not in self.operations:
            raise EndpointError(
                "UnsupportedOperation", f"The action {action} is not implemented by the local endpoint.", 400
            )
        version = _single(form, "Version")
        if version is None:
            raise EndpointError("MissingParameter", "The request must contain the parameter Version", 400)
        if version != self.api_version:
            raise EndpointError(
                "NoSuchVersion", f"The requested version ({version}) of service AmazonEC2 does not exist.", 400
            )
        return action

    def parse_request(self, action, form):
        """Rebuild the parameters botocore's EC2 serializer flattened (``Filter.1.Value.1=...``) from the model."""
        flat = {}
        for key, values in form.items():
            if key in ("Action", "Version"):
                continue
            if len(values) != 1:
                raise EndpointError("InvalidParameterValue", f"The parameter {key} appears more than once", 400)
            flat[key] = values[0]
        consumed = set()
        params = _ec2_parse(self.operations[action].input_shape, "", flat, consumed)
        unknown = sorted(set(flat) - consumed)
        if unknown:
            raise EndpointError("UnknownParameter", f"The parameter {unknown[0]} is not recognized", 400)
        return params

    def check_input(self, action, params):
        errors = self.validator.errors(self.operations[action].input_shape, params, "")
        if errors:
            raise EndpointError("InvalidParameterValue", _validation_message(errors), 400)

    def output_errors(self, action, result):
        return self.validator.errors(self.operations[action].output_shape, result, "")

    def answer(self, action, result, request_id):
        """The XML EC2 answers: ``<ActionResponse xmlns=...><requestId/>`` and the output members by locationName."""
        shape = self.operations[action].output_shape
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{self.namespace}">']
        out.append(f"<requestId>{request_id}</requestId>")
        for name, member in shape.members.items():
            if name in result:
                _ec2_xml(member, result[name], member.serialization.get("name", name), out)
        out.append(f"</{action}Response>")
        return "".join(out).encode("utf-8")


def _single(form, key):
    values = form.get(key)
    return values[0] if values else None


def _ec2_wire_name(member, name):
    """The name botocore's EC2 serializer gives a member: queryName, else locationName capitalised, else its name."""
    if "queryName" in member.serialization:
        return member.serialization["queryName"]
    location = member.serialization.get("name")
    return location[0].upper() + location[1:] if location else name


def _ec2_parse(shape, prefix, flat, consumed):
    if shape.type_name == "structure":
        value = {}
        for name, member in shape.members.items():
            key = _join(prefix, _ec2_wire_name(member, name))
            if key in flat or any(wire.startswith(key + ".") for wire in flat):
                value[name] = _ec2_parse(member, key, flat, consumed)
        return value
    if shape.type_name == "list":
        if flat.get(prefix) == "":
            consumed.add(prefix)
            return []
        item = re.compile(re.escape(prefix) + r"\.([0-9]+)(?:\.|$)")
        indexes = sorted({int(match.group(1)) for match in map(item.match, flat) if match})
        if indexes != list(range(1, len(indexes) + 1)):
            raise EndpointError(
                "InvalidParameterValue", f"The list {prefix} must be numbered 1, 2, ... without gaps", 400
            )
        return [_ec2_parse(shape.member, f"{prefix}.{index}", flat, consumed) for index in indexes]
    if prefix not in flat:
        raise EndpointError("InvalidParameterValue", f"The parameter {prefix} takes a single value", 400)
    consumed.add(prefix)
    raw = flat[prefix]
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError as exc:
            raise EndpointError("InvalidParameterValue", f"Invalid value '{raw}' for {prefix}", 400) from exc
    if shape.type_name == "boolean":
        if raw.lower() not in ("true", "false"):
            raise EndpointError("InvalidParameterValue", f"Invalid value '{raw}' for {prefix}", 400)
        return raw.lower() == "true"
    return raw


def _ec2_xml(shape, value, tag, out):
    """One member as EC2 writes it: lists wrapped, their items named by the member's locationName (``item``)."""
    if shape.type_name == "structure":
        out.append(f"<{tag}>")
        for name, member in shape.members.items():
            if name in value:
                _ec2_xml(member, value[name], member.serialization.get("name", name), out)
        out.append(f"</{tag}>")
    elif shape.type_name == "list":
        if not value:
            out.append(f"<{tag}/>")
            return
        out.append(f"<{tag}>")
        item = shape.member.serialization.get("name", "member")
        for element in value:
            _ec2_xml(shape.member, element, item, out)
        out.append(f"</{tag}>")
    elif shape.type_name == "boolean":
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        out.append(f"<{tag}>{_xml_escape(str(value))}</{tag}>")


def _xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _ec2_error_body(code, message, request_id):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{_xml_escape(code)}</Code><Message>{_xml_escape(message)}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    ).encode("utf-8")


def _collect_member_names(shape, names, seen):
    if shape.name in seen:
        return
    seen.add(shape.name)
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            names.add(name)
            _collect_member_names(member, names, seen)
    elif shape.type_name == "list":
        _collect_member_names(shape.member, names, seen)
    elif shape.type_name == "map":
        _collect_member_names(shape.value, names, seen)


def _omitted(shape, name, omit):
    return name not in shape.required_members and (omit == "*" or name in omit)


def _without(shape, value, omit):
    if shape.type_name == "structure":
        return {
            name: _without(shape.members[name], item, omit)
            for name, item in value.items()
            if not _omitted(shape, name, omit)
        }
    if shape.type_name == "list":
        return [_without(shape.member, item, omit) for item in value]
    if shape.type_name == "map":
        return {key: _without(shape.value, item, omit) for key, item in value.items()}
    return value


def _from_query(member, raw, name):
    if member.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError as exc:
            raise EndpointError("InvalidRequestException", f"Parameter '{name}' must be an integer") from exc
    if member.type_name == "boolean":
        if raw not in ("true", "false"):
            raise EndpointError("InvalidRequestException", f"Parameter '{name}' must be true or false")
        return raw == "true"
    return raw


class Execution:
    """One lifecycle execution and its scripted status timeline."""

    def __init__(self, spec):
        self.execution_id = spec["id"]
        self.policy_arn = spec.get("policy")
        self.images = list(spec.get("images", ()))
        self.start_time = spec["start"]
        self.end_time = spec.get("end")
        self.reason = spec.get("reason")
        self.has_impacted = spec["has_impacted"]
        self.timeline = spec.get("timeline")
        self.timeline_seconds = spec.get("timeline_seconds")
        self.cancel_polls = spec.get("cancel_polls", 1)
        self.children = {}
        for resource in spec.get("resources", []):
            self.children.setdefault(resource.get("parentResourceId"), []).append(resource)
        generated = spec.get("generated")
        if generated is not None:
            self.children[generated.parent] = _ResourceSequence(self.children.get(generated.parent, []), generated)
        self.get_count = 0
        self.first_get = None
        self.cancelled_at = None

    def order_key(self):
        return (-self.start_time, self.execution_id)

    def state(self, now):
        """(status, reason) right now, without advancing anything."""
        if self.cancelled_at is not None:
            status = "CANCELLING" if self.get_count - self.cancelled_at < self.cancel_polls else "CANCELLED"
            return status, None
        if self.timeline_seconds is not None:
            elapsed = 0.0 if self.first_get is None else now - self.first_get
            status, reason = _phase(self.timeline_seconds, elapsed)
        else:
            status, reason = _phase(self.timeline or DEFAULT_TIMELINE, self.get_count)
        if reason is None and status in TERMINAL and status != "SUCCESS":
            reason = self.reason
        return status, reason

    def observe(self, now):
        """A GetLifecycleExecution answer: report the current state, then move the count-based clock one tick."""
        if self.first_get is None:
            self.first_get = now
        answer = self.describe(now)
        self.get_count += 1
        return answer

    def cancel(self):
        self.cancelled_at = self.get_count

    def describe(self, now):
        state = self.state_only(now)
        status = state["status"]
        answer = {
            "lifecycleExecutionId": self.execution_id,
            "resourcesImpactedSummary": {"hasImpactedResources": self.has_impacted},
            "state": state,
            "startTime": self.start_time,
        }
        if self.policy_arn is not None:
            answer["lifecyclePolicyArn"] = self.policy_arn
        if status in TERMINAL:
            if self.end_time is None:
                # Whole seconds, as the service shows them, and never before the start.
                self.end_time = max(float(int(now)), self.start_time)
            answer["endTime"] = self.end_time
        return answer

    def state_only(self, now):
        status, reason = self.state(now)
        state = {"status": status}
        if reason is not None:
            state["reason"] = reason
        return state


def _phase(phases, position):
    """The phase a position (Get answers served, or seconds since the first Get) falls in; the last one lasts."""
    elapsed = 0
    for status, length, reason in phases:
        if length is None:
            return status, reason
        elapsed += length
        if position < elapsed:
            return status, reason
    status, _length, reason = phases[-1]
    return status, reason


def _api_resource(resource):
    """What the API answers for a scenario resource: parentResourceId is scenario-only."""
    return {key: value for key, value in resource.items() if key != "parentResourceId"}


class _GeneratedResources:
    """``generate_resources``: AMIs (one snapshot each) made only when a page asks for them, so size costs nothing."""

    def __init__(self, count, parent, account_id, region, start):
        self.count = count
        self.parent = parent
        self.account_id = account_id
        self.region = region
        self.start = start

    def make(self, number):
        resource = {
            "accountId": self.account_id,
            "resourceId": f"ami-{number:017x}",
            "state": {"status": "SUCCESS"},
            "action": {"name": "DELETE"},
            "region": self.region,
            "snapshots": [{"snapshotId": f"snap-{number:017x}", "state": {"status": "SUCCESS"}}],
            "startTime": self.start,
            "endTime": self.start + 60.0,
        }
        if self.parent is not None:
            resource["parentResourceId"] = self.parent
        return resource


class _ResourceSequence:
    """The scenario's explicit resources under one parent followed by generated ones; sliced page by page."""

    def __init__(self, explicit, generated):
        self.explicit = explicit
        self.generated = generated

    def __len__(self):
        return len(self.explicit) + self.generated.count

    def __getitem__(self, window):
        explicit = len(self.explicit)
        return [
            self.explicit[index] if index < explicit else self.generated.make(index - explicit + 1)
            for index in range(*window.indices(len(self)))
        ]


class World:
    """The scenario's state: executions, indexes, pagination tokens, idempotency records."""

    EXECUTION_KEYS = (
        "lifecycleExecutionId",
        "lifecyclePolicyArn",
        "images",
        "startTime",
        "endTime",
        "status",
        "reason",
        "timeline",
        "timeline_seconds",
        "cancel_polls",
        "hasImpactedResources",
        "resources",
        "generate_resources",
        "generate_resources_parent",
    )
    POLICY_KEYS = (
        "arn",
        "generate_executions",
        "generate_id_prefix",
        "generate_status",
        "generate_start",
        "generate_interval_seconds",
        "name",
        "description",
        "status",
        "executionRole",
        "resourceType",
        "policyDetails",
        "resourceSelection",
        "tags",
        "dateCreated",
        "dateUpdated",
        "dateLastRun",
    )
    IMAGE_KEYS = (
        "arn",
        "resources",
        "state",
        "type",
        "platform",
        "osVersion",
        "dateCreated",
        "tags",
        "buildType",
        "imageSource",
        "outputResources",
        "deprecationTime",
        "lifecycleExecutionId",
    )
    TOP_KEYS = (
        "description",
        "account_id",
        "region",
        "policies",
        "images",
        "executions",
        "policy_runs",
        "faults",
        "omit_members",
    )
    POLICY_RUN_KEYS = ("resources",)

    def __init__(self, scenario, service):
        _check_keys(scenario, self.TOP_KEYS, "scenario")
        self.service = service
        self.account_id = scenario.get("account_id", "123456789012")
        self.region = scenario.get("region", "us-east-1")
        self.omit = self._omit_members(scenario.get("omit_members"))
        self.executions = {}
        self.by_policy = {}
        # Every execution that touches an image (what makes it busy), and the ones StartResourceStateUpdate started
        # for it (no policy: what listing the image gives).
        self.by_image = {}
        self.updates_by_image = {}
        self.images = {}
        # Lifecycle policies by ARN, as GetLifecyclePolicy answers them.
        self.policies = {}
        self.tokens = {}
        self.idempotency = {}
        self.token_secret = uuid.uuid4().hex
        for index, image in enumerate(scenario.get("images", [])):
            self._load_image(image, f"images[{index}]")
        for index, spec in enumerate(scenario.get("executions", [])):
            self._add(Execution(self._execution_spec(spec, f"executions[{index}]")))
        for index, policy in enumerate(scenario.get("policies", [])):
            self._load_policy(policy, f"policies[{index}]")
        # What /_endpoint/run_policy makes a policy's run act on, by policy name: written by hand, never computed.
        self.policy_runs = self._policy_runs(scenario.get("policy_runs", {}))

    # -- scenario loading -------------------------------------------------------------------------------------

    def _omit_members(self, omit):
        if omit is None or omit == "*":
            return omit
        if not isinstance(omit, list) or not all(isinstance(name, str) for name in omit):
            raise ScenarioError('scenario.omit_members: expected "*" or a list of member names')
        unknown = sorted(set(omit) - self.service.output_member_names)
        if unknown:
            raise ScenarioError(
                f"scenario.omit_members: {unknown} are not members of these operations' answers; "
                f"known: {sorted(self.service.output_member_names)}"
            )
        return frozenset(omit)

    def _load_image(self, image, where):
        _check_keys(image, self.IMAGE_KEYS, where)
        if "arn" not in image:
            raise ScenarioError(f"{where}: 'arn' is required")
        self.images[image["arn"]] = self._image_record(image, where)

    def _image_record(self, image, where):
        """One image as every image read answers it: GetImage, ListImages, ListImageBuildVersions.

        Enumerated members (platform, buildType, ...) are not checked here: the output validator catches them.
        """
        resources, ec2 = [], {}
        for i, item in enumerate(image.get("resources", [])):
            resource = self._resource(item, f"{where}.resources[{i}]")
            # The EC2 knob is the stand-in's own: it never reaches an Image Builder answer.
            knob = resource.pop("ec2", None)
            if knob is not None:
                ec2[resource.get("resourceId")] = self._ami_ec2(resource, knob, f"{where}.resources[{i}].ec2")
            resources.append(resource)
        image_type = image.get("type", "AMI")
        if image_type not in IMAGE_TYPES:
            raise ScenarioError(f"{where}.type: expected one of {list(IMAGE_TYPES)}, got {image_type!r}")
        record = {
            "resources": resources,
            "status": image.get("state", "AVAILABLE"),
            "type": image_type,
            "created": _epoch(image.get("dateCreated", IMAGE_DEFAULTS["dateCreated"]), f"{where}.dateCreated"),
            "ec2": ec2,
            # When the status was last set (the load, or a state update): a deprecated AMI's DeprecationTime.
            "status_since": float(int(time.time())),
        }
        for key in ("platform", "osVersion", "buildType", "imageSource"):
            record[key] = image.get(key, IMAGE_DEFAULTS[key])
        if "tags" in image:
            if not isinstance(image["tags"], dict):
                raise ScenarioError(f"{where}.tags: expected an object of tag names and values")
            record["tags"] = dict(image["tags"])
        for key in ("outputResources", "lifecycleExecutionId"):
            if key in image:
                record[key] = copy.deepcopy(image[key])
        if "deprecationTime" in image:
            record["deprecationTime"] = _epoch(image["deprecationTime"], f"{where}.deprecationTime")
        return record

    @staticmethod
    def _ami_ec2(resource, knob, where):
        """``ec2`` on an image's AMI resource: what DescribeImages says of that AMI, checked key by key."""
        if not str(resource.get("resourceId", "")).startswith("ami-"):
            raise ScenarioError(f"{where}: only an AMI resource (resourceId ami-...) takes 'ec2'")
        _check_keys(knob, AMI_EC2_KEYS, where)
        info = {}
        if "public" in knob:
            if not isinstance(knob["public"], bool):
                raise ScenarioError(f"{where}.public: expected true or false, got {knob['public']!r}")
            info["public"] = knob["public"]
        accounts = knob.get("shared_accounts", [])
        if not isinstance(accounts, list) or not all(
            isinstance(account, str) and _ACCOUNT_ID.match(account) for account in accounts
        ):
            raise ScenarioError(f"{where}.shared_accounts: expected a list of 12-digit account ids, got {accounts!r}")
        info["shared_accounts"] = list(accounts)
        if "last_launched" in knob:
            info["last_launched"] = _epoch(knob["last_launched"], f"{where}.last_launched")
        tags = knob.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise ScenarioError(f"{where}.tags: expected an object of tag names and string values, got {tags!r}")
        info["tags"] = dict(tags)
        if "snapshots" in knob:
            snapshots = knob["snapshots"]
            if not isinstance(snapshots, list) or not all(
                isinstance(snap, str) and _SNAPSHOT_ID.match(snap) for snap in snapshots
            ):
                raise ScenarioError(f"{where}.snapshots: expected a list of snapshot ids (snap-...), got {snapshots!r}")
            info["snapshots"] = list(snapshots)
        return info

    def _policy_runs(self, runs):
        if not isinstance(runs, dict):
            raise ScenarioError("scenario.policy_runs: expected an object of policy names and runs")
        shape = self.service.model.shape_for("LifecycleExecutionResource")
        loaded = {}
        for name, run in runs.items():
            where = f"policy_runs[{name!r}]"
            _check_keys(run, self.POLICY_RUN_KEYS, where)
            if not isinstance(run.get("resources"), list):
                raise ScenarioError(f"{where}.resources: expected a list of resources")
            resources = [self._resource(item, f"{where}.resources[{i}]") for i, item in enumerate(run["resources"])]
            top = {r.get("resourceId") for r in resources if "parentResourceId" not in r}
            for i, resource in enumerate(resources):
                place = f"{where}.resources[{i}]"
                errors = self.service.validator.errors(shape, _api_resource(resource), place)
                if errors:
                    raise ScenarioError("; ".join(errors))
                parent = resource.get("parentResourceId")
                if parent is None and not self.service.image_build_version_arn.search(
                    str(resource.get("resourceId", ""))
                ):
                    raise ScenarioError(f"{place}: a top-level resource is an image (an image build version ARN)")
                if parent is not None and parent not in top:
                    raise ScenarioError(f"{place}.parentResourceId: {parent!r} is not a top-level resource of the run")
            loaded[name] = resources
        return loaded

    def _resource(self, resource, where):
        if not isinstance(resource, dict):
            raise ScenarioError(f"{where}: expected an object")
        converted = dict(resource)
        for key in ("startTime", "endTime"):
            if key in converted:
                converted[key] = _epoch(converted[key], f"{where}.{key}")
        return converted

    def _execution_spec(self, spec, where):
        _check_keys(spec, self.EXECUTION_KEYS, where)
        if "lifecycleExecutionId" not in spec:
            raise ScenarioError(f"{where}: 'lifecycleExecutionId' is required")
        if sum(key in spec for key in ("status", "timeline", "timeline_seconds")) > 1:
            raise ScenarioError(f"{where}: give only one of 'status', 'timeline', 'timeline_seconds'")
        resources = [
            self._resource(item, f"{where}.resources[{i}]") for i, item in enumerate(spec.get("resources", []))
        ]
        start = _epoch(spec.get("startTime", "2024-06-01T00:00:00Z"), f"{where}.startTime")
        generated = self._generated_resources(spec, start, where)
        result = {
            "id": spec["lifecycleExecutionId"],
            "policy": spec.get("lifecyclePolicyArn"),
            "images": spec.get("images", []),
            "start": start,
            "reason": spec.get("reason"),
            "has_impacted": spec.get("hasImpactedResources", bool(resources or generated)),
            "cancel_polls": spec.get("cancel_polls", 1),
            "resources": resources,
            "generated": generated,
        }
        if not isinstance(result["images"], list):
            raise ScenarioError(f"{where}.images: expected a list of image ARNs")
        if "status" in spec:
            result["timeline"] = ((spec["status"], None, None),)
        elif "timeline" in spec:
            result["timeline"] = _timeline(spec["timeline"], int, f"{where}.timeline")
        elif "timeline_seconds" in spec:
            result["timeline_seconds"] = _timeline(spec["timeline_seconds"], (int, float), f"{where}.timeline_seconds")
        else:
            result["timeline"] = (("SUCCESS", None, None),)
        if "endTime" in spec:
            result["end"] = _epoch(spec["endTime"], f"{where}.endTime")
        elif _phase(result.get("timeline") or result["timeline_seconds"], 0)[0] in TERMINAL:
            result["end"] = start + 120.0
        return result

    def _generated_resources(self, spec, start, where):
        count = spec.get("generate_resources", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScenarioError(f"{where}.generate_resources: expected a non-negative integer")
        if not count:
            return None
        return _GeneratedResources(count, spec.get("generate_resources_parent"), self.account_id, self.region, start)

    def _load_policy(self, policy, where):
        _check_keys(policy, self.POLICY_KEYS, where)
        if "arn" not in policy:
            raise ScenarioError(f"{where}: 'arn' is required")
        arn = policy["arn"]
        self.by_policy.setdefault(arn, [])
        if "name" in policy:
            self._load_policy_details(policy, where)
        count = policy.get("generate_executions", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScenarioError(f"{where}.generate_executions: expected a non-negative integer")
        prefix = policy.get("generate_id_prefix") or hashlib.sha256(arn.encode()).hexdigest()[:8]
        newest = _epoch(policy.get("generate_start", "2024-05-31T00:00:00Z"), f"{where}.generate_start")
        interval = policy.get("generate_interval_seconds", 3600)
        status = policy.get("generate_status", "SUCCESS")
        for number in range(1, count + 1):
            start = newest - (number - 1) * interval
            spec = {
                "id": f"lce-{prefix}-0000-4000-a000-{number:012x}",
                "policy": arn,
                "start": start,
                "end": start + 60.0,
                "has_impacted": False,
                "timeline": ((status, None, None),),
            }
            self._add(Execution(spec))

    def _add(self, execution):
        if execution.execution_id in self.executions:
            raise ScenarioError(f"duplicate lifecycleExecutionId {execution.execution_id}")
        self.executions[execution.execution_id] = execution
        if execution.policy_arn is not None:
            bisect.insort(self.by_policy.setdefault(execution.policy_arn, []), execution, key=Execution.order_key)
        for image in execution.images:
            bisect.insort(self.by_image.setdefault(image, []), execution, key=Execution.order_key)
            if execution.policy_arn is None:
                bisect.insort(self.updates_by_image.setdefault(image, []), execution, key=Execution.order_key)

    # -- operations ----------------------------------------------------------------------------------------------

    def _execution(self, execution_id):
        execution = self.executions.get(execution_id)
        if execution is None:
            raise EndpointError("ResourceNotFoundException", f"Lifecycle execution '{execution_id}' not found")
        return execution

    def _page(self, operation, scope, items, params):
        low, high, default = self.service.page_bounds(operation)
        size = params.get("maxResults", default)
        if not low <= size <= high:
            raise EndpointError("InvalidRequestException", f"maxResults must be between {low} and {high}")
        offset = 0
        if "nextToken" in params:
            found = self.tokens.get(params["nextToken"])
            if found is None or found[:2] != (operation, scope):
                raise EndpointError("InvalidPaginationTokenException", "The nextToken is not valid for this request")
            offset = found[2]
        end = offset + size
        page = items[offset:end]
        token = None
        if end < len(items):
            # Deterministic per page, so a retried call hands out the same token it would have.
            token = hashlib.sha256(f"{self.token_secret}|{operation}|{scope}|{end}".encode()).hexdigest()
            self.tokens[token] = (operation, scope, end)
        return page, token

    def get_lifecycle_execution(self, params, now):
        return {"lifecycleExecution": self._execution(params["lifecycleExecutionId"]).observe(now)}

    def list_lifecycle_executions(self, params, now):
        arn = params["resourceArn"]
        if self.service.lifecycle_policy_arn.search(arn):
            items = self.by_policy.get(arn, [])
        elif self.service.image_build_version_arn.search(arn):
            items = self.updates_by_image.get(arn, [])
        else:
            raise EndpointError(
                "InvalidRequestException",
                f"Value '{arn}' at 'resourceArn' is neither a lifecycle policy ARN nor an image build version ARN. "
                "Other ARN types aren't valid for this request.",
            )
        page, token = self._page("ListLifecycleExecutions", arn, items, params)
        result = {"lifecycleExecutions": [execution.describe(now) for execution in page]}
        if token is not None:
            result["nextToken"] = token
        return result

    def list_lifecycle_execution_resources(self, params, now):
        execution = self._execution(params["lifecycleExecutionId"])
        parent = params.get("parentResourceId")
        items = execution.children.get(parent, [])
        scope = (execution.execution_id, parent)
        page, token = self._page("ListLifecycleExecutionResources", scope, items, params)
        result = {
            "lifecycleExecutionId": execution.execution_id,
            "lifecycleExecutionState": execution.state_only(now),
            "resources": [_api_resource(resource) for resource in page],
        }
        if token is not None:
            result["nextToken"] = token
        return result

    def _replay(self, operation, params):
        """The recorded answer for a repeated clientToken, or None for a new token."""
        request = {key: value for key, value in params.items() if key != "clientToken"}
        record = self.idempotency.get((operation, params["clientToken"]))
        if record is None:
            return None
        if record[0] != request:
            raise EndpointError(
                "IdempotentParameterMismatchException",
                f"clientToken '{params['clientToken']}' was already used with different parameters",
            )
        return copy.deepcopy(record[1])

    def _remember(self, operation, params, result):
        request = {key: value for key, value in params.items() if key != "clientToken"}
        self.idempotency[(operation, params["clientToken"])] = (request, copy.deepcopy(result))

    def cancel_lifecycle_execution(self, params, now):
        replayed = self._replay("CancelLifecycleExecution", params)
        if replayed is not None:
            return replayed
        execution = self._execution(params["lifecycleExecutionId"])
        status = execution.state(now)[0]
        if status not in RUNNING:
            raise EndpointError(
                "ResourceInUseException",
                f"Lifecycle execution '{execution.execution_id}' is {status} and can no longer be cancelled",
            )
        execution.cancel()
        result = {"lifecycleExecutionId": execution.execution_id}
        self._remember("CancelLifecycleExecution", params, result)
        return result

    def start_resource_state_update(self, params, now):
        starts_execution = _check_state_update(params)
        replayed = self._replay("StartResourceStateUpdate", params)
        if replayed is not None:
            return replayed
        # Checked after the replay: a retry must get the first answer even once that time has passed.
        if "updateAt" in params and params["updateAt"] <= now:
            raise EndpointError(
                "InvalidRequestException",
                f"updateAt {_iso(params['updateAt'])} is not in the future (now {_iso(now)}); it must be a future time",
            )
        arn = params["resourceArn"]
        image = self._image(arn)
        wanted = params["state"].get("status", "AVAILABLE")
        self._check_transition(arn, image, wanted)
        result = {"resourceArn": arn}
        if starts_execution:
            self._check_not_busy(arn, now)
            execution_id = f"lce-{uuid.uuid4()}"
            action = {"name": STATE_TO_ACTION.get(params["state"].get("status", "AVAILABLE"), "AVAILABLE")}
            resources = self._state_update_resources(arn, self.images.get(arn, {}).get("resources", []), action, now)
            spec = {
                "id": execution_id,
                "images": [arn],
                "start": float(int(now)),
                "has_impacted": bool(resources),
                "timeline": DEFAULT_TIMELINE,
                "resources": resources,
            }
            self._add(Execution(spec))
            result["lifecycleExecutionId"] = execution_id
        # The image takes its new state at once, an execution's too (a stand-in's simplification), except a
        # deprecation scheduled with updateAt, which happens later. Its AMIs' EC2 state follows only when the update
        # includes them (exclusion rules aside); otherwise they keep the state they had, pinned here.
        if "updateAt" not in params:
            if (params.get("includeResources") or {}).get("amis"):
                image.pop("ami_state", None)
            else:
                image.setdefault("ami_state", (image["status"], image["status_since"]))
            image["status"] = wanted
            image["status_since"] = float(int(now))
        self._remember("StartResourceStateUpdate", params, result)
        return result

    # -- lifecycle policies ------------------------------------------------------------------------------------

    def _load_policy_details(self, policy, where):
        """A scenario policy with ``name``: stored as Create would store it (defaults echoed, dates as epoch)."""
        arn = policy["arn"]
        expected = self._policy_arn(policy["name"])
        if arn != expected:
            raise ScenarioError(f"{where}: the ARN of a policy named {policy['name']!r} is {expected}, not {arn}")
        request = {key: copy.deepcopy(policy[key]) for key in ("name", "tags") + POLICY_MEMBERS if key in policy}
        request["clientToken"] = "scenario"
        try:
            self.service.check_input("CreateLifecyclePolicy", request)
            _check_policy_rules(request)
        except EndpointError as exc:
            raise ScenarioError(f"{where}: {exc.message}") from exc
        dates = {
            key: _epoch(policy[key], f"{where}.{key}")
            for key in ("dateCreated", "dateUpdated", "dateLastRun")
            if key in policy
        }
        created = dates.get("dateCreated", _epoch("2024-05-01T00:00:00Z", where))
        stored = self._store_policy(arn, request, created)
        stored.update(dates)

    def _policy_arn(self, name):
        return (
            f"arn:aws:imagebuilder:{self.region}:{self.account_id}:lifecycle-policy/"
            f"{re.sub(r'[ _]', '-', name.lower())}"
        )

    def _store_policy(self, arn, request, now, previous=None):
        """Create's or Update's request as the service keeps it: every member replaced, defaults echoed."""
        stored = {"arn": arn, "name": previous["name"] if previous else request["name"]}
        for key in POLICY_MEMBERS:
            if key in request:
                stored[key] = copy.deepcopy(request[key])
        stored.setdefault("status", "ENABLED")
        for detail in stored["policyDetails"]:
            _echo_detail_defaults(detail)
        stored["dateCreated"] = previous["dateCreated"] if previous else float(int(now))
        if previous is not None:
            stored["dateUpdated"] = float(int(now))
            if "dateLastRun" in previous:
                stored["dateLastRun"] = previous["dateLastRun"]
        tags = previous.get("tags") if previous else request.get("tags")
        if tags:
            stored["tags"] = dict(tags)
        self.policies[arn] = stored
        return stored

    def _policy(self, arn, kind="Lifecycle policy"):
        policy = self.policies.get(arn)
        if policy is None:
            raise EndpointError("ResourceNotFoundException", f"{kind} '{arn}' not found")
        return policy

    def create_lifecycle_policy(self, params, now):
        _check_policy_rules(params)
        replayed = self._replay("CreateLifecyclePolicy", params)
        if replayed is not None:
            return replayed
        arn = self._policy_arn(params["name"])
        if arn in self.policies:
            raise EndpointError(
                "ResourceAlreadyExistsException",
                f"Lifecycle policy '{self.policies[arn]['name']}' already exists with ARN {arn}, the ARN that "
                f"'{params['name']}' maps to",
            )
        if params.get("dryRun"):
            raise EndpointError("DryRunOperationException", "The request would have succeeded, but dryRun was set")
        self._store_policy(arn, params, now)
        self.by_policy.setdefault(arn, [])
        result = {"clientToken": params["clientToken"], "lifecyclePolicyArn": arn}
        self._remember("CreateLifecyclePolicy", params, result)
        return result

    def get_lifecycle_policy(self, params, now):
        return {"lifecyclePolicy": copy.deepcopy(self._policy(params["lifecyclePolicyArn"]))}

    def update_lifecycle_policy(self, params, now):
        _check_policy_rules(params)
        replayed = self._replay("UpdateLifecyclePolicy", params)
        if replayed is not None:
            return replayed
        arn = params["lifecyclePolicyArn"]
        previous = self._policy(arn)
        if params["resourceType"] != previous["resourceType"]:
            raise EndpointError(
                "InvalidParameterCombinationException",
                f"The resourceType of lifecycle policy '{arn}' is {previous['resourceType']} and cannot be changed "
                f"to {params['resourceType']}",
            )
        self._store_policy(arn, params, now, previous)
        result = {"lifecyclePolicyArn": arn}
        self._remember("UpdateLifecyclePolicy", params, result)
        return result

    def delete_lifecycle_policy(self, params, now):
        arn = params["lifecyclePolicyArn"]
        self._policy(arn)
        del self.policies[arn]
        # Deleting a policy cancels its in-flight execution.
        for execution in self.by_policy.get(arn, []):
            if execution.state(now)[0] in RUNNING:
                execution.cancel()
        return {"lifecyclePolicyArn": arn}

    def list_lifecycle_policies(self, params, now):
        wanted = _wanted_filters("ListLifecyclePolicies", params, POLICY_FILTERS)
        items = sorted(
            (p for p in self.policies.values() if _policy_matches(p, wanted)), key=lambda p: (p["name"], p["arn"])
        )
        scope = json.dumps(params.get("filters", []), sort_keys=True)
        page, token = self._page("ListLifecyclePolicies", scope, items, params)
        result = {
            "lifecyclePolicySummaryList": [
                {key: copy.deepcopy(policy[key]) for key in SUMMARY_MEMBERS if key in policy} for policy in page
            ]
        }
        if token is not None:
            result["nextToken"] = token
        return result

    def tag_resource(self, params, now):
        policy = self._policy(params["resourceArn"], kind="Resource")
        tags = dict(policy.get("tags", {}), **params["tags"])
        if len(tags) > 50:
            raise EndpointError("InvalidParameterException", "A resource can have at most 50 tags")
        policy["tags"] = tags
        return {}

    def untag_resource(self, params, now):
        policy = self._policy(params["resourceArn"], kind="Resource")
        tags = {key: value for key, value in policy.get("tags", {}).items() if key not in params["tagKeys"]}
        if tags:
            policy["tags"] = tags
        else:
            policy.pop("tags", None)
        return {}

    def _image(self, arn):
        """The scenario's image, or a plain AVAILABLE AMI image for one that only executions mention."""
        if arn not in self.images:
            if arn not in self.by_image:
                raise EndpointError("ResourceNotFoundException", f"Image '{arn}' not found")
            self.images[arn] = self._image_record({}, arn)
        return self.images[arn]

    def _known_images(self):
        """(arn, record) of every image build version the account has: the scenario's and those executions touch."""
        arns = {
            arn for arn in set(self.images) | set(self.by_image) if self.service.image_build_version_arn.search(arn)
        }
        return [(arn, self._image(arn)) for arn in arns]

    def _image_summary(self, arn, image):
        """The ImageSummary of one image record (GetImage's Image is the same, without owner)."""
        name, version, build = _image_parts(arn)
        summary = {
            "arn": arn,
            "name": name,
            "type": image["type"],
            "version": f"{version}/{build}",
            "platform": image["platform"],
            "osVersion": image["osVersion"],
            "state": {"status": image["status"]},
            "owner": self.account_id,
            "dateCreated": _date_time(image["created"]),
            "outputResources": copy.deepcopy(image.get("outputResources") or self._output_resources(arn, image)),
        }
        if image.get("tags"):
            summary["tags"] = dict(image["tags"])
        summary["buildType"] = image["buildType"]
        summary["imageSource"] = image["imageSource"]
        if "deprecationTime" in image:
            summary["deprecationTime"] = image["deprecationTime"]
        execution_id = image.get("lifecycleExecutionId") or self._last_policy_execution(arn)
        if execution_id is not None:
            summary["lifecycleExecutionId"] = execution_id
        return summary

    def _output_resources(self, arn, image):
        """What the build produced, from the image's scenario resources: its AMIs, or its container images."""
        name, version, build = _image_parts(arn)
        if image["type"] == "DOCKER":
            containers = [
                {"region": item.get("region", self.region), "imageUris": list(item["imageUris"])}
                for item in image["resources"]
                if item.get("imageUris")
            ]
            return {"containers": containers}
        amis = [
            {
                "region": item.get("region", self.region),
                "image": item["resourceId"],
                "name": f"{name}-{version}-{build}",
                "state": {"status": image["status"]},
                "accountId": item.get("accountId", self.account_id),
            }
            for item in image["resources"]
            if str(item.get("resourceId", "")).startswith("ami-")
        ]
        return {"amis": amis}

    def _last_policy_execution(self, arn):
        """The newest lifecycle policy execution that touches the image (what ImageSummary.lifecycleExecutionId is)."""
        for execution in self.by_image.get(arn, []):
            if execution.policy_arn is not None:
                return execution.execution_id
        return None

    def list_image_build_versions(self, params, now):
        wanted = _wanted_filters("ListImageBuildVersions", params, IMAGE_FILTERS)
        version_arn = params.get("imageVersionArn")
        summaries = []
        for arn, image in self._known_images():
            if version_arn is not None and arn.rsplit("/", 1)[0] != version_arn:
                continue
            summary = self._image_summary(arn, image)
            if _image_matches(summary, wanted):
                summaries.append(summary)
        summaries.sort(key=_newest_first)
        scope = json.dumps({"imageVersionArn": version_arn, "filters": params.get("filters", [])}, sort_keys=True)
        page, token = self._page("ListImageBuildVersions", scope, summaries, params)
        result = {"requestId": str(uuid.uuid4()), "imageSummaryList": page}
        if token is not None:
            result["nextToken"] = token
        return result

    def list_images(self, params, now):
        wanted = _wanted_filters("ListImages", params, IMAGE_FILTERS)
        by_name = params.get("byName", False)
        if by_name and "version" in wanted:
            raise EndpointError("InvalidRequestException", "byName can't be combined with the version filter")
        groups = {}
        if params.get("owner", "Self") == "Self":
            for arn, image in self._known_images():
                summary = self._image_summary(arn, image)
                name, version, _build = _image_parts(arn)
                groups.setdefault(name if by_name else (name, version), []).append(summary)
        versions = []
        for builds in groups.values():
            entry = _image_version(builds, by_name)
            if _image_matches(entry, wanted):
                versions.append(entry)
        versions.sort(key=_newest_first)
        scope = json.dumps(
            {key: params[key] for key in ("owner", "filters", "byName", "includeDeprecated") if key in params},
            sort_keys=True,
        )
        page, token = self._page("ListImages", scope, versions, params)
        result = {"requestId": str(uuid.uuid4()), "imageVersionList": page}
        if token is not None:
            result["nextToken"] = token
        return result

    @staticmethod
    def _check_transition(arn, image, wanted):
        status = image["status"]
        if status not in UPDATABLE_IMAGE_STATUSES:
            raise EndpointError(
                "InvalidRequestException",
                f"Image '{arn}' is {status}; its state can be updated only from "
                f"{', '.join(sorted(UPDATABLE_IMAGE_STATUSES))}",
            )
        if status in DELETE_ONLY_IMAGE_STATUSES and wanted != "DELETED":
            raise EndpointError(
                "InvalidRequestException", f"Image '{arn}' is {status}: it can transition only to DELETED, not {wanted}"
            )
        if image["type"] == "DOCKER" and wanted != "DELETED":
            raise EndpointError(
                "InvalidRequestException",
                f"Image '{arn}' is a container image: only DELETED is supported, not {wanted}",
            )

    def get_image(self, params, now):
        arn = params["imageBuildVersionArn"]
        summary = self._image_summary(arn, self._image(arn))
        image = {key: value for key, value in summary.items() if key not in IMAGE_SUMMARY_ONLY}
        return {"requestId": str(uuid.uuid4()), "image": image}

    # -- EC2 ------------------------------------------------------------------------------------------------------

    def describe_images(self, params, region, now):
        """EC2 DescribeImages in one region: the AMIs of the image records' resources, as the caller's account sees
        them (its own, and others' that are public or shared with it)."""
        if params.get("DryRun"):
            raise EndpointError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
        amis = [ami for ami in self._amis(region, now) if ami["OwnerId"] == self.account_id or _visible(ami, self)]
        if "ImageIds" in params:
            amis = self._by_ids(amis, params["ImageIds"])
        if "Owners" in params:
            owners = {self.account_id if owner == "self" else owner for owner in params["Owners"]}
            amis = [ami for ami in amis if ami["OwnerId"] in owners]
        if "ExecutableUsers" in params:
            amis = [ami for ami in amis if _executable_by(ami, params["ExecutableUsers"], self.account_id)]
        for name, values in _ec2_filters(params.get("Filters", [])):
            amis = [ami for ami in amis if _ec2_filter_matches(ami, name, values)]
        amis = [ami for ami in amis if self._included(ami, params, now)]
        page, token = self._ec2_page(params, region, amis)
        result = {"Images": [{key: value for key, value in ami.items() if not key.startswith("_")} for ami in page]}
        if token is not None:
            result["NextToken"] = token
        return result

    def _amis(self, region, now):
        """Every AMI the image records hold in one region, as DescribeImages writes it (private fields with _)."""
        amis = []
        for arn, image in self.images.items():
            # The image's status and when it was set, or what its AMIs kept through updates that left them out.
            status, since = image.get("ami_state", (image["status"], image["status_since"]))
            if status == "DELETED" or not self.service.image_build_version_arn.search(arn):
                continue
            for resource in image["resources"]:
                ami_id = str(resource.get("resourceId", ""))
                if ami_id.startswith("ami-") and resource.get("region", self.region) == region:
                    amis.append(self._ami(arn, image, resource, (status, since), now))
        return sorted(amis, key=lambda ami: ami["ImageId"])

    def _ami(self, arn, image, resource, status_since, now):
        status, since = status_since
        state = AMI_STATES.get(status, "pending")
        name, version, build = _image_parts(arn)
        ami_id = resource["resourceId"]
        knob = image["ec2"].get(ami_id, {})
        owner = resource.get("accountId", self.account_id)
        ami_name = f"{name}-{version}-{build}"
        windows = image["platform"] == "Windows"
        ami = {
            "ImageId": ami_id,
            "ImageLocation": f"{owner}/{ami_name}",
            "State": state,
            "OwnerId": owner,
            "CreationDate": _date_time(image["created"]),
            "Public": knob.get("public", False),
            "Architecture": "x86_64",
            "ImageType": "machine",
            "Name": ami_name,
            "Description": f"Image Builder image {arn}",
            "RootDeviceName": "/dev/xvda",
            "RootDeviceType": "ebs",
            "VirtualizationType": "hvm",
            "Hypervisor": "xen",
            "EnaSupport": True,
            "PlatformDetails": "Windows" if windows else "Linux/UNIX",
            "UsageOperation": "RunInstances:0002" if windows else "RunInstances",
            "BlockDeviceMappings": [
                {
                    "DeviceName": f"/dev/xvd{chr(ord('a') + index)}",
                    "Ebs": {
                        "SnapshotId": snapshot,
                        "DeleteOnTermination": True,
                        "VolumeSize": 8,
                        "VolumeType": "gp3",
                        "Encrypted": False,
                    },
                }
                for index, snapshot in enumerate(_ami_snapshots(resource, knob))
            ],
            "_shared_accounts": knob.get("shared_accounts", []),
        }
        deprecation = image.get("deprecationTime")
        if deprecation is None and status == "DEPRECATED":
            deprecation = since
        if deprecation is not None:
            ami["DeprecationTime"] = _date_time(deprecation)
        ami["_deprecated"] = status == "DEPRECATED" or (deprecation is not None and deprecation <= now)
        if "last_launched" in knob:
            ami["LastLaunchedTime"] = _date_time(knob["last_launched"])
        if knob.get("tags"):
            ami["Tags"] = [{"Key": key, "Value": value} for key, value in knob["tags"].items()]
        return ami

    @staticmethod
    def _by_ids(amis, ids):
        malformed = [ami_id for ami_id in ids if not _AMI_ID.match(ami_id)]
        if malformed:
            raise EndpointError("InvalidAMIID.Malformed", f'Invalid id: "{malformed[0]}"', 400)
        known = {ami["ImageId"] for ami in amis}
        missing = [ami_id for ami_id in ids if ami_id not in known]
        if missing:
            raise EndpointError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist", 400)
        return [ami for ami in amis if ami["ImageId"] in set(ids)]

    def _included(self, ami, params, now):
        """IncludeDisabled: "No disabled AMIs are included" by default. IncludeDeprecated: none by default, but "If you
        are the AMI owner, all deprecated AMIs appear in the response regardless"."""
        if ami["State"] == "disabled" and not params.get("IncludeDisabled"):
            return False
        if ami["_deprecated"] and ami["OwnerId"] != self.account_id and not params.get("IncludeDeprecated"):
            return False
        return True

    def _ec2_page(self, params, region, items):
        size = params.get("MaxResults")
        if size is not None and size < 1:
            raise EndpointError("InvalidParameterValue", f"Value ({size}) for parameter MaxResults is invalid.", 400)
        scope = json.dumps(
            dict({k: v for k, v in params.items() if k not in ("MaxResults", "NextToken")}, region=region),
            sort_keys=True,
        )
        offset = 0
        if "NextToken" in params:
            found = self.tokens.get(params["NextToken"])
            if found is None or found[:2] != ("DescribeImages", scope):
                raise EndpointError("InvalidPaginationToken", "The token provided is invalid or expired.", 400)
            offset = found[2]
        end = len(items) if size is None else offset + size
        token = None
        if end < len(items):
            token = hashlib.sha256(f"{self.token_secret}|DescribeImages|{scope}|{end}".encode()).hexdigest()
            self.tokens[token] = ("DescribeImages", scope, end)
        return items[offset:end], token

    # -- running a policy (the control API's run_policy) --------------------------------------------------------

    def run_policy(self, arn, now):
        """A run of a lifecycle policy: a new SUCCESS execution whose resources are the scenario's ``policy_runs``
        entry for the policy's name (what the service would do, written by hand: the endpoint computes nothing)."""
        policy = self.policies.get(arn)
        if policy is None:
            raise ControlError(404, f"no lifecycle policy {arn!r} (the scenario's or one CreateLifecyclePolicy made)")
        declared = self.policy_runs.get(policy["name"])
        if declared is None:
            raise ControlError(
                409, f"the scenario has no policy_runs entry for policy {policy['name']!r}: nothing to run"
            )
        start = float(int(now))
        resources = []
        for resource in declared:
            resource = copy.deepcopy(resource)
            resource.setdefault("startTime", start)
            resource.setdefault("endTime", start)
            resources.append(resource)
        execution_id = f"lce-{uuid.uuid4()}"
        spec = {
            "id": execution_id,
            "policy": arn,
            "images": [r["resourceId"] for r in resources if "parentResourceId" not in r],
            "start": start,
            "end": start,
            "has_impacted": bool(resources),
            "timeline": (("SUCCESS", None, None),),
            "resources": resources,
        }
        self._add(Execution(spec))
        policy["dateLastRun"] = start
        return {"lifecycleExecutionId": execution_id}

    def _check_not_busy(self, arn, now):
        """Any execution touching the image holds it, a policy's too (though listing the image does not show those)."""
        for execution in self.by_image.get(arn, []):
            status = execution.state(now)[0]
            if status in BUSY:
                raise EndpointError(
                    "ResourceInUseException",
                    f"Image '{arn}' is in use by lifecycle execution '{execution.execution_id}' ({status})",
                )

    def _state_update_resources(self, arn, declared, action, now):
        """The image itself at the top level, with the resources the scenario declares for it underneath."""
        top = {
            "accountId": self.account_id,
            "resourceId": arn,
            "state": {"status": "SUCCESS"},
            "action": dict(action),
            "region": self.region,
            "startTime": float(int(now)),
        }
        resources = [top]
        for resource in declared:
            child = copy.deepcopy(resource)
            child.setdefault("parentResourceId", arn)
            child["action"] = dict(action)
            resources.append(child)
        return resources


def _visible(ami, world):
    """Another account's AMI is visible when it is public or shared with the caller's account."""
    return ami["Public"] or world.account_id in ami["_shared_accounts"]


def _executable_by(ami, users, account_id):
    """ExecutableUsers: ``all`` gives public AMIs; an account id (``self`` is the caller's) the AMIs shared with it.
    An owner's implicit launch permission is not an explicit one: its own AMIs match only when shared with it."""
    for user in users:
        if user == "all" and ami["Public"]:
            return True
        if (account_id if user == "self" else user) in ami["_shared_accounts"]:
            return True
    return False


# DescribeImages filters the endpoint answers (the model documents more: those are refused as not implemented).
EC2_FILTERS = ("image-id", "is-public", "name", "owner-id", "state", "tag-key", "tag:<key>")


def _ec2_filters(filters):
    found = []
    for item in filters:
        name = item.get("Name")
        if name is None or not item.get("Values"):
            raise EndpointError(
                "InvalidParameterValue", f"The filter '{name}' needs a Name and at least one Value", 400
            )
        if name not in EC2_FILTERS and not (name.startswith("tag:") and len(name) > 4):
            raise EndpointError(
                "InvalidParameterValue",
                f"The filter '{name}' is invalid or not implemented by the local endpoint; "
                f"use one of {list(EC2_FILTERS)}",
                400,
            )
        found.append((name, [_wildcard(value) for value in item["Values"]]))
    return found


def _wildcard(value):
    """EC2 filter values take ``*`` (any characters) and ``?`` (one)."""
    return re.compile("^" + re.escape(value).replace(r"\*", ".*").replace(r"\?", ".") + "$")


def _ec2_filter_matches(ami, name, values):
    tags = {tag["Key"]: tag["Value"] for tag in ami.get("Tags", [])}
    if name == "tag-key":
        candidates = list(tags)
    elif name.startswith("tag:"):
        candidates = [tags[name[4:]]] if name[4:] in tags else []
    else:
        field = {"image-id": "ImageId", "name": "Name", "owner-id": "OwnerId", "state": "State"}.get(name)
        candidates = ["true" if ami["Public"] else "false"] if name == "is-public" else [ami[field]]
    return any(value.match(candidate) for value in values for candidate in candidates)


def _ami_snapshots(resource, knob):
    """The knob's snapshots, else the resource's own (what an execution shows), else one derived from the AMI id."""
    if "snapshots" in knob:
        return knob["snapshots"]
    declared = [snap["snapshotId"] for snap in resource.get("snapshots", []) if "snapshotId" in snap]
    return declared or [default_snapshot_id(resource["resourceId"])]


def default_snapshot_id(ami_id):
    """The snapshot an AMI without declared snapshots has: ``snap-`` and 17 hex digits derived from its id."""
    return "snap-" + hashlib.sha256(ami_id.encode()).hexdigest()[:17]


def _echo_detail_defaults(detail):
    """What the service echoes that nobody set: every include flag (false when not asked for), isPublic false."""
    include = detail["action"].setdefault("includeResources", {})
    for kind in UNDERLYING_RESOURCES:
        include.setdefault(kind, False)
    amis = detail.get("exclusionRules", {}).get("amis")
    if amis is not None:
        amis.setdefault("isPublic", False)


def _wanted_filters(operation, params, allowed):
    """A listing's ``filters`` as {name: values}: each name once and one the operation takes."""
    wanted = {}
    for item in params.get("filters", []):
        name = item.get("name")
        if name not in allowed or "values" not in item:
            raise EndpointError(
                "InvalidRequestException",
                f"Filter name '{name}' is not valid for {operation}; use one of {list(allowed)}",
            )
        if name in wanted:
            raise EndpointError("InvalidRequestException", f"Filter '{name}' is given more than once")
        wanted[name] = item["values"]
    return wanted


def _image_parts(arn):
    """(name, X.Y.Z, build) of an image build version ARN."""
    name, version, build = arn.split(":image/", 1)[1].split("/")
    return name, version, build


def _date_time(epoch):
    """A DateTime string member (ImageSummary.dateCreated, ...), as the service writes it: UTC, milliseconds, Z."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _version_key(version):
    """X.Y.Z[/N] as numbers, so 1.10.0 sorts after 1.2.0."""
    return tuple(int(part) for part in re.split(r"[./]", version))


def _newest_first(item):
    """Newest dateCreated first; equal dates by name, then version (and build) ascending: stable across calls."""
    created = datetime.fromisoformat(item["dateCreated"].replace("Z", "+00:00")).timestamp()
    return (-created, item["name"], _version_key(item["version"]))


def _image_matches(item, wanted):
    """name takes ``*`` wildcards at its ends; version is X.Y.Z (a build version's build number aside); others exact."""
    for name, values in wanted.items():
        if name == "name":
            if not any(_name_matches(value, item["name"]) for value in values):
                return False
        elif name == "version":
            if item["version"].split("/", 1)[0] not in values:
                return False
        elif item.get(name) not in values:
            return False
    return True


def _image_version(builds, by_name):
    """ListImages' ImageVersion of one image version's build summaries (one image name's, with byName).

    The version's dateCreated is its first build's; type, platform, osVersion and how it was built: the newest
    build's. With byName the entry stands for every version: ARN ``.../x.x.x``, version the highest one.
    """
    newest = max(builds, key=lambda summary: _version_key(summary["version"]))
    first = min(builds, key=lambda summary: (summary["dateCreated"], _version_key(summary["version"])))
    version = newest["version"].split("/", 1)[0]
    base = newest["arn"].rsplit("/", 2)[0]
    entry = {
        "arn": f"{base}/x.x.x" if by_name else f"{base}/{version}",
        "name": newest["name"],
        "type": newest["type"],
        "version": version,
        "platform": newest["platform"],
        "osVersion": newest["osVersion"],
        "owner": newest["owner"],
        "dateCreated": first["dateCreated"],
    }
    for key in ("buildType", "imageSource"):
        entry[key] = newest[key]
    return entry


def _name_matches(pattern, name):
    """A name filter value: exact, or with ``*`` at the start and/or the end; case-sensitive."""
    body = pattern.strip("*")
    if "*" in body:
        raise EndpointError(
            "InvalidRequestException", f"Filter value '{pattern}': '*' is allowed only at the start or end"
        )
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return body in name
    if pattern.startswith("*"):
        return name.endswith(body)
    if pattern.endswith("*"):
        return name.startswith(body)
    return name == pattern


def _policy_matches(policy, wanted):
    for name, values in wanted.items():
        if name == "name":
            if not any(_name_matches(value, policy["name"]) for value in values):
                return False
        elif policy.get(name) not in values:
            return False
    return True


def _check_policy_rules(params):
    """The rules Create/UpdateLifecyclePolicy enforce beyond the input shape, each a 400 InvalidRequestException."""
    resource_type = params["resourceType"]
    seen = set()
    for index, detail in enumerate(params["policyDetails"]):
        where = f"policyDetails.{index + 1}"
        action = detail["action"]["type"]
        if action in seen:
            raise EndpointError(
                "InvalidRequestException", f"{where}: only one policy detail per action type ({action})"
            )
        seen.add(action)
        flt = detail["filter"]
        include = detail["action"].get("includeResources", {})
        if flt["type"] == "COUNT" and action != "DELETE":
            raise EndpointError("InvalidRequestException", f"{where}: COUNT filters are valid only with DELETE")
        if flt["type"] == "AGE" and "unit" not in flt:
            raise EndpointError("InvalidRequestException", f"{where}: an AGE filter needs a unit")
        if "retainAtLeast" in flt and flt["type"] != "AGE":
            raise EndpointError("InvalidRequestException", f"{where}: retainAtLeast is valid only with AGE filters")
        if include.get("snapshots") and not include.get("amis"):
            raise EndpointError("InvalidRequestException", f"{where}: snapshots can be included only with amis")
        if resource_type == "CONTAINER_IMAGE":
            if action != "DELETE":
                raise EndpointError("InvalidRequestException", f"{where}: CONTAINER_IMAGE policies allow DELETE only")
            if "amis" in detail.get("exclusionRules", {}):
                raise EndpointError("InvalidRequestException", f"{where}: CONTAINER_IMAGE policies exclude no AMIs")
        elif include.get("containers"):
            raise EndpointError("InvalidRequestException", f"{where}: AMI_IMAGE policies include no containers")
    selection = params["resourceSelection"]
    if ("recipes" in selection) == ("tagMap" in selection):
        raise EndpointError("InvalidRequestException", "resourceSelection needs exactly one of recipes and tagMap")


def _check_state_update(params):
    """The model's rules for StartResourceStateUpdate; True when the request runs as a lifecycle execution.

    An includeResources that includes nothing (amis, snapshots and containers all false or absent) counts as absent.
    """
    status = params["state"].get("status")
    include = params.get("includeResources", {})
    included = [kind for kind in UNDERLYING_RESOURCES if include.get(kind)]
    if "executionRole" in params and not included:
        raise EndpointError(
            "InvalidRequestException",
            "executionRole is only valid together with includeResources that includes amis, snapshots or containers: "
            "neither is valid without the other",
        )
    if included and "executionRole" not in params:
        raise EndpointError(
            "InvalidRequestException",
            "includeResources needs executionRole, the role that updates the underlying resources: "
            "neither is valid without the other",
        )
    for kind in ("snapshots", "containers"):
        if include.get(kind) and status != "DELETED":
            raise EndpointError(
                "InvalidRequestException",
                f"includeResources.{kind} is only valid for the DELETED state, not {status}",
            )
    if status == "DELETED" and not included:
        raise EndpointError(
            "InvalidRequestException",
            "To set an image to DELETED, includeResources must include its underlying resources "
            "(amis, snapshots or containers); to delete only the Image Builder image, use DeleteImage",
        )
    if "updateAt" in params and status != "DEPRECATED":
        raise EndpointError(
            "InvalidRequestException", f"updateAt is only valid when the target status is DEPRECATED, not {status}"
        )
    return bool(included) or "updateAt" in params


def _iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _timeline(raw, length_types, where):
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}: expected a non-empty list of [status, length] pairs")
    phases = []
    for index, phase in enumerate(raw):
        if not isinstance(phase, list) or len(phase) not in (2, 3) or not isinstance(phase[0], str):
            raise ScenarioError(f"{where}[{index}]: expected [status, length] or [status, length, reason]")
        length = phase[1]
        if length is None:
            if index != len(raw) - 1:
                raise ScenarioError(f"{where}[{index}]: only the last phase may last forever (null)")
        elif isinstance(length, bool) or not isinstance(length, length_types) or length <= 0:
            raise ScenarioError(f"{where}[{index}]: the length must be a positive number or null")
        phases.append((phase[0], length, phase[2] if len(phase) == 3 else None))
    return tuple(phases)


class FaultRule:
    """One injected fault: which calls it hits and what it does to them."""

    KEYS = (
        "operation",
        "service",
        "fault",
        "skip",
        "count",
        "probability",
        "seed",
        "code",
        "status",
        "message",
        "seconds",
        "body",
    )

    def __init__(self, spec, service):
        _check_keys(spec, self.KEYS, "fault rule")
        self.spec = dict(spec)
        self.operation = spec.get("operation", "*")
        known = OPERATIONS + EC2_OPERATIONS
        if self.operation != "*" and self.operation not in known:
            raise ScenarioError(f"fault rule: unknown operation {self.operation!r}; use one of {list(known)} or '*'")
        self.service = spec.get("service")
        if self.service is not None and self.service not in SERVICES:
            raise ScenarioError(f"fault rule: unknown service {self.service!r}; use one of {list(SERVICES)}")
        if self.operation != "*":
            implied = EC2 if self.operation in EC2_OPERATIONS else SERVICE
            if self.service not in (None, implied):
                raise ScenarioError(f"fault rule: {self.operation} is an {implied} operation, not {self.service}")
            self.service = implied
        self.kind = spec.get("fault")
        if self.kind not in FAULT_KINDS:
            raise ScenarioError(f"fault rule: 'fault' must be one of {list(FAULT_KINDS)}")
        self.skip = _non_negative(spec.get("skip", 0), "skip")
        self.count = spec.get("count", 1)
        if self.count is not None:
            self.count = _non_negative(self.count, "count")
        self.probability = spec.get("probability")
        if self.probability is not None and not 0.0 <= float(self.probability) <= 1.0:
            raise ScenarioError("fault rule: 'probability' must be between 0 and 1")
        self.rng = random.Random(spec.get("seed", 0))
        self.code = spec.get("code")
        self.status = spec.get("status")
        if self.kind == "error":
            if not isinstance(self.code, str):
                raise ScenarioError("fault rule: an 'error' fault needs a 'code'")
            if self.status is None:
                self.status = self._status(service)
                if self.status is None:
                    raise ScenarioError(f"fault rule: {self.code!r} is not a modeled error; give an explicit 'status'")
        self.message = spec.get("message", f"Injected {self.code or self.kind} fault")
        self.seconds = float(spec.get("seconds", 0.0))
        self.body = spec.get("body", "<html><body>502 Bad Gateway</body></html>")
        self.seen = 0
        self.fired = 0

    def _status(self, service):
        """The status of a code: Image Builder's model gives its errors'; EC2 models none, so its codes come from
        EC2_ERROR_STATUS (first, for a rule that can only hit EC2)."""
        modeled = service.error_status(self.code)
        ec2 = EC2_ERROR_STATUS.get(self.code)
        return (ec2 or modeled) if self.service == EC2 else (modeled or ec2)

    def offer(self, service, operation, taken):
        """Count a call; True when this rule takes it (an earlier rule may already have taken it)."""
        if self.operation not in ("*", operation) or self.service not in (None, service):
            return False
        self.seen += 1
        if taken or self.seen <= self.skip or (self.count is not None and self.fired >= self.count):
            return False
        if self.probability is not None and self.rng.random() >= float(self.probability):
            return False
        self.fired += 1
        return True

    def describe(self):
        return dict(self.spec, seen=self.seen, fired=self.fired)


def _non_negative(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScenarioError(f"fault rule: {name!r} must be a non-negative integer")
    return value


class LocalEndpoint:
    """The stand-in server: ``with LocalEndpoint("scenarios/demo.json") as ep:`` then ``endpoint_url=ep.url``."""

    def __init__(self, scenario, host="127.0.0.1", port=0, log_path=None):
        if not _is_loopback(host):
            raise ValueError(f"refusing to bind {host!r}: the local endpoint only listens on loopback")
        self.host = host
        self.port = port
        self.service = ServiceModel.get()
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._scenario = self._read_scenario(scenario)
        self._world = World(self._scenario, self.service)
        self._faults = self._scenario_faults(self._scenario)
        self._log = []
        self._log_path = log_path
        self._log_file = None
        self._server = None
        self._thread = None
        self._connections = set()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self):
        if self._log_path:
            self._log_file = open(self._log_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self._server = _Server((self.host, self.port), _Handler)
        self._server.endpoint = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._log_lock:
            for connection in list(self._connections):
                _close_quietly(connection)
            self._connections.clear()
        self._thread.join(timeout=5)
        self._server = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- control ---------------------------------------------------------------------------------------------------

    def requests(self, operation=None, service=None):
        with self._log_lock:
            return [
                dict(entry)
                for entry in self._log
                if operation in (None, entry["operation"]) and service in (None, entry["service"])
            ]

    def add_faults(self, rules):
        if isinstance(rules, dict):
            rules = [rules]
        new = [FaultRule(rule, self.service) for rule in rules]
        with self._lock:
            self._faults.extend(new)
        return self.faults()

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def faults(self):
        with self._lock:
            return [rule.describe() for rule in self._faults]

    def reset(self):
        self.load_scenario(self._scenario)

    def load_scenario(self, scenario):
        """Replace the scenario: fresh state, the scenario's own faults, an empty request log."""
        document = self._read_scenario(scenario)
        world = World(document, self.service)
        faults = self._scenario_faults(document)
        with self._lock:
            self._scenario, self._world, self._faults = document, world, faults
        with self._log_lock:
            self._log = []

    def scenario(self):
        return copy.deepcopy(self._scenario)

    @staticmethod
    def _read_scenario(scenario):
        if isinstance(scenario, dict):
            return copy.deepcopy(scenario)
        with open(scenario, encoding="utf-8") as handle:
            try:
                return json.load(handle)
            except ValueError as exc:
                raise ScenarioError(f"{scenario}: {exc}") from exc

    def _scenario_faults(self, document):
        faults = document.get("faults", [])
        if not isinstance(faults, list):
            raise ScenarioError("scenario.faults: expected a list of fault rules")
        return [FaultRule(rule, self.service) for rule in faults]

    # -- request handling (called from handler threads) ------------------------------------------------------------

    def track(self, connection, opened):
        with self._log_lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def record(self, operation, params, module=None, service=SERVICE):
        with self._log_lock:
            entry = {
                "seq": len(self._log) + 1,
                "time": time.time(),
                "service": service,
                "operation": operation,
                "module": module,
                "params": params,
                "status": None,
                "fault": None,
                "error": None,
            }
            self._log.append(entry)
            return entry

    def finish(self, entry, status, fault=None, error=None):
        with self._log_lock:
            entry.update(status=status, fault=fault, error=error)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self._log_file.flush()

    def pick_fault(self, operation, entry, service=SERVICE):
        """The first rule that takes this call, marked on its log entry at once (a delayed call is still in flight)."""
        with self._lock:
            rule = None
            for candidate in self._faults:
                # Every rule counts every call of its operation, so 'skip' means the same thing whatever precedes it.
                if candidate.offer(service, operation, taken=rule is not None):
                    rule = candidate
        if rule is not None:
            with self._log_lock:
                entry["fault"] = rule.kind
        return rule

    def call(self, operation, params):
        """Validate, run and check one API call; returns the JSON-ready answer or raises EndpointError."""
        self.service.check_input(operation, params)
        with self._lock:
            world = self._world
            result = getattr(world, _snake(operation))(params, time.time())
        errors = self.service.output_errors(operation, result)
        if errors:
            LOG.error("BUG: the %s answer does not match the output shape: %s", operation, "; ".join(errors))
            raise EndpointError(
                OUTPUT_INVALID_CODE, f"{operation} answer failed output-shape validation: " + "; ".join(errors), 500
            )
        # Only what is sent loses members: replays and timelines work on the whole answer.
        return self.service.without_members(operation, result, world.omit)

    def call_ec2(self, action, params, region):
        """Validate, run and check one EC2 call; returns the answer's members or raises EndpointError (EC2 codes)."""
        ec2 = Ec2Model.get()
        ec2.check_input(action, params)
        with self._lock:
            result = getattr(self._world, _snake(action))(params, region, time.time())
        errors = ec2.output_errors(action, result)
        if errors:
            LOG.error("BUG: the %s answer does not match the output shape: %s", action, "; ".join(errors))
            raise EndpointError(
                OUTPUT_INVALID_CODE, f"{action} answer failed output-shape validation: " + "; ".join(errors), 500
            )
        return result

    def run_policy(self, document):
        """``POST /_endpoint/run_policy``: ``{"lifecyclePolicyArn": ARN}`` -> ``{"lifecycleExecutionId": ...}``."""
        if not isinstance(document, dict) or set(document) != {"lifecyclePolicyArn"}:
            raise ControlError(400, 'expected {"lifecyclePolicyArn": "<lifecycle policy ARN>"} and nothing else')
        arn = document["lifecyclePolicyArn"]
        if not isinstance(arn, str):
            raise ControlError(400, "lifecyclePolicyArn: expected a string")
        with self._lock:
            return self._world.run_policy(arn, time.time())


def _calling_module(user_agent):
    """The Ansible module that made a call, from the ``ansible-module/NAME`` the collection adds to its User-Agent."""
    match = re.search(r"(?:^| )ansible-module/([A-Za-z0-9_.]+)", user_agent)
    return match.group(1) if match else None


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _close_quietly(connection):
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    endpoint = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalImageBuilder/1.0"
    timeout = 60
    # Headers and body are separate writes; with Nagle's algorithm each answer would wait for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.endpoint.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.endpoint.track(self.connection, False)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Keep stderr quiet; the request log is the record (and it never holds headers or credentials)."""

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _dispatch(self):
        parts = urlsplit(self.path)
        body = self._read_body()
        if parts.path.startswith(CONTROL_PREFIX):
            self._control(parts, body)
            return
        scope = _CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
        if scope is not None and scope.group(2) == EC2:
            self._dispatch_ec2(parts, body, region=scope.group(1))
            return
        endpoint = self.server.endpoint
        operation, uri_params = endpoint.service.route(self.command, parts.path)
        if operation not in endpoint.service.operations:
            entry = endpoint.record(operation, None)
            message = f"{self.command} {parts.path} is not an operation the local endpoint implements"
            if operation is not None:
                message = f"{operation} is not implemented by the local endpoint"
            self._send_error(EndpointError("UnknownOperationException", message, 404), entry)
            return
        try:
            params = endpoint.service.parse_request(operation, parts.query, body, uri_params)
        except EndpointError as exc:
            entry = endpoint.record(operation, None)
            self._send_error(exc, entry)
            return
        entry = endpoint.record(operation, params, _calling_module(self.headers.get("User-Agent", "")))
        rule = endpoint.pick_fault(operation, entry)
        if rule is not None and rule.kind != "delay":
            self._send_fault(rule, entry)
            return
        if rule is not None:
            time.sleep(rule.seconds)
        try:
            result = endpoint.call(operation, params)
        except EndpointError as exc:
            self._send_error(exc, entry, fault=rule and rule.kind)
            return
        # The log entry is complete before the answer leaves, so a client that reads the log next sees it.
        endpoint.finish(entry, 200, fault=rule and rule.kind)
        self._send_json(200, result)

    def _dispatch_ec2(self, parts, body, region):
        """An EC2 query-protocol request (form body, or query string): DescribeImages, answered in XML."""
        endpoint = self.server.endpoint
        form = parse_qs(parts.query, keep_blank_values=True)
        for key, values in parse_qs(body, keep_blank_values=True).items():
            form.setdefault(key, []).extend(values)
        action = _single(form, "Action")
        module = _calling_module(self.headers.get("User-Agent", ""))
        try:
            ec2 = Ec2Model.get()
            ec2.action(form)
            params = ec2.parse_request(action, form)
        except EndpointError as exc:
            self._send_ec2_error(exc, endpoint.record(action, None, module, service=EC2))
            return
        entry = endpoint.record(action, params, module, service=EC2)
        rule = endpoint.pick_fault(action, entry, service=EC2)
        if rule is not None and rule.kind != "delay":
            self._send_fault(rule, entry, service=EC2)
            return
        if rule is not None:
            time.sleep(rule.seconds)
        request_id = str(uuid.uuid4())
        try:
            result = endpoint.call_ec2(action, params, region)
        except EndpointError as exc:
            self._send_ec2_error(exc, entry, fault=rule and rule.kind)
            return
        endpoint.finish(entry, 200, fault=rule and rule.kind)
        self._send_bytes(200, ec2.answer(action, result, request_id), "text/xml;charset=UTF-8", request_id=request_id)

    def _send_ec2_error(self, error, entry, fault=None):
        status = error.status or EC2_ERROR_STATUS.get(error.code, 400)
        request_id = str(uuid.uuid4())
        self.server.endpoint.finish(entry, status, fault=fault, error=error.code)
        body = _ec2_error_body(error.code, error.message, request_id)
        self._send_bytes(status, body, "text/xml;charset=UTF-8", request_id=request_id)

    def _send_fault(self, rule, entry, service=SERVICE):
        endpoint = self.server.endpoint
        if rule.kind == "error" and service == EC2:
            self._send_ec2_error(EndpointError(rule.code, rule.message, rule.status), entry, fault="error")
        elif rule.kind == "error":
            self._send_error(EndpointError(rule.code, rule.message, rule.status), entry, fault="error")
        elif rule.kind == "drop":
            endpoint.finish(entry, None, fault="drop")
            self.close_connection = True
            _close_quietly(self.connection)
        elif rule.kind == "truncate":
            endpoint.finish(entry, 200, fault="truncate")
            partial = b'{"lifecycleExecution": {"lifecycleExecutionId": "lce-'
            if service == EC2:
                partial = b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeImagesResponse><imagesSet><item><imageId>'
            self.send_response(200)
            self.send_header("Content-Type", "application/json" if service == SERVICE else "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(partial) + 512))
            self.end_headers()
            self.wfile.write(partial)
            self.wfile.flush()
            self.close_connection = True
            _close_quietly(self.connection)
        else:
            endpoint.finish(entry, 200, fault="garbage")
            self._send_bytes(200, rule.body.encode("utf-8"), "text/html")

    def _send_error(self, error, entry, fault=None):
        status = error.status or self.server.endpoint.service.error_status(error.code) or 400
        body = json.dumps({"message": error.message}).encode("utf-8")
        self.server.endpoint.finish(entry, status, fault=fault, error=error.code)
        self._send_bytes(status, body, "application/json", {"x-amzn-ErrorType": error.code})

    def _send_json(self, status, document):
        self._send_bytes(status, json.dumps(document, separators=(",", ":")).encode("utf-8"), "application/json")

    def _send_bytes(self, status, body, content_type, headers=None, request_id=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a delay past its read timeout); nothing left to tell it.
            self.close_connection = True

    # -- control API ---------------------------------------------------------------------------------------------

    def _control(self, parts, body):
        endpoint = self.server.endpoint
        route = (self.command, parts.path.removeprefix(CONTROL_PREFIX).rstrip("/"))
        try:
            document = json.loads(body) if body.strip() else None
            if route == ("GET", "health"):
                answer = {"status": "ok"}
            elif route == ("GET", "requests"):
                query = parse_qs(parts.query)
                answer = endpoint.requests(query.get("operation", [None])[0], query.get("service", [None])[0])
            elif route == ("POST", "reset"):
                endpoint.reset()
                answer = {"reset": True}
            elif route == ("GET", "faults"):
                answer = endpoint.faults()
            elif route == ("POST", "faults"):
                answer = endpoint.add_faults(document if document is not None else [])
            elif route == ("DELETE", "faults"):
                endpoint.clear_faults()
                answer = []
            elif route == ("GET", "scenario"):
                answer = endpoint.scenario()
            elif route == ("POST", "scenario"):
                endpoint.load_scenario(document if document is not None else {})
                answer = {"loaded": True}
            elif route == ("POST", "run_policy"):
                answer = endpoint.run_policy(document)
            else:
                self._send_json(404, {"message": f"no control route {self.command} {parts.path}"})
                return
        except ControlError as exc:
            self._send_json(exc.status, {"message": exc.message})
            return
        except (ScenarioError, ValueError, TypeError) as exc:
            self._send_json(400, {"message": str(exc)})
            return
        self._send_json(200, answer)


def _write_atomically(path, text):
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True, help="scenario JSON file")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--url-file", help="write the base URL here (atomically) once listening")
    parser.add_argument("--log", help="append every API request as a JSON line to this file")
    parser.add_argument("--pid-file", help="write the process id here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="imagebuilder_endpoint: %(message)s")

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    endpoint = LocalEndpoint(args.scenario, host=args.host, port=args.port, log_path=args.log).start()
    try:
        if args.pid_file:
            _write_atomically(args.pid_file, f"{os.getpid()}\n")
        if args.url_file:
            _write_atomically(args.url_file, endpoint.url + "\n")
        sys.stdout.write(f"listening on {endpoint.url}\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        endpoint.stop()
        for path in (args.url_file, args.pid_file):
            if path and os.path.exists(path):
                os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
