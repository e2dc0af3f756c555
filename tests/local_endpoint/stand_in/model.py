"""The generic checks against botocore's models: every request against its operation's input shape, every answer
against its output shape (types, required members, min/max, enums, patterns: botocore checks no patterns, the
service does), for Image Builder (rest-json) and EC2 (query in, XML out)."""

import json
import re
import threading
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import botocore.session

from .common import EndpointError

SERVICE = "imagebuilder"
EC2 = "ec2"
SERVICES = (SERVICE, EC2)
EC2_OPERATIONS = ("DescribeImages",)
DEFAULT_PAGE_SIZE = 25
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
                    f"Value null at '{join(path, name)}' failed to satisfy constraint: Member must not be null"
                )
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                found.append(f"Unknown member '{join(path, name)}'; the model allows {sorted(shape.members)}")
            else:
                self._check(member, item, join(path, name), found)

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


def join(path, name):
    return f"{path}.{name}" if path else name


def validation_message(errors):
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
            raise EndpointError("InvalidRequestException", validation_message(errors))

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
        action = single(form, "Action")
        if action is None:
            raise EndpointError("MissingAction", "The request must contain the parameter Action", 400)
        if action not in self.model.operation_names:
            raise EndpointError("InvalidAction", f"The action {action} is not valid for this web service.", 400)
        if action not in self.operations:
            raise EndpointError(
                "UnsupportedOperation", f"The action {action} is not implemented by the local endpoint.", 400
            )
        version = single(form, "Version")
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
            raise EndpointError("InvalidParameterValue", validation_message(errors), 400)

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


def single(form, key):
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
            key = join(prefix, _ec2_wire_name(member, name))
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


def ec2_error_body(code, message, request_id):
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
