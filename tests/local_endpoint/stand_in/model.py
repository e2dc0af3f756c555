"""The generic checks against botocore's models: every request against its operation's input shape, every answer
against its output shape (types, required members, min/max, enums, patterns: botocore checks no patterns, the
service does), for Image Builder (rest-json) and EC2 (query in, XML out)."""

import json
import re
import threading
from datetime import datetime
from datetime import timezone
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import botocore.session

from .common import EndpointError

SERVICE = "imagebuilder"
EC2 = "ec2"
AUTOSCALING = "autoscaling"
RBIN = "rbin"
SERVICES = (SERVICE, EC2, AUTOSCALING, RBIN)
# The query-protocol services (a form in, XML out); the services that answer in the region of the request's SigV4
# credential scope (Image Builder answers in the scenario's).
QUERY_SERVICES = (EC2, AUTOSCALING)
REGIONAL_SERVICES = (EC2, AUTOSCALING, RBIN)
EC2_OPERATIONS = tuple(
    "DescribeImages DescribeImageReferences DescribeInstances DescribeLaunchTemplateVersions DescribeSnapshots".split()
)
AUTOSCALING_OPERATIONS = ("DescribeAutoScalingGroups", "DescribeLaunchConfigurations")
RBIN_OPERATIONS = ("ListRules", "GetRule")
DEFAULT_PAGE_SIZE = 25
OPERATIONS = tuple(
    "GetLifecycleExecution ListLifecycleExecutions ListLifecycleExecutionResources CancelLifecycleExecution "
    "StartResourceStateUpdate GetImage ListImages ListImageBuildVersions CreateLifecyclePolicy GetLifecyclePolicy "
    "UpdateLifecyclePolicy DeleteLifecyclePolicy ListLifecyclePolicies TagResource UntagResource".split()
)
# EC2 models no error shapes: the status of the codes the endpoint sends (and fault rules may name), as EC2 sends them.
EC2_ERROR_STATUS = dict.fromkeys(
    "InvalidAction UnsupportedOperation NoSuchVersion MissingParameter UnknownParameter InvalidParameterValue "
    "InvalidParameterCombination InvalidPaginationToken InvalidAMIID.Malformed InvalidAMIID.NotFound "
    "InvalidInstanceID.Malformed InvalidInstanceID.NotFound InvalidSnapshot.NotFound InvalidSnapshotID.Malformed "
    "InvalidLaunchTemplateId.Malformed InvalidLaunchTemplateId.NotFound InvalidLaunchTemplateName.NotFoundException "
    "InvalidLaunchTemplateId.VersionNotFound".split(),
    400,
)
EC2_ERROR_STATUS.update(RequestLimitExceeded=503, Unavailable=503, InternalError=500, AuthFailure=401)
EC2_ERROR_STATUS.update(UnauthorizedOperation=403, DryRunOperation=412)
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
    """Checks a JSON-like value against a botocore shape: types, required members, min/max, enums, patterns; each
    finding worded as the service words it ("Value 'x' at 'path' failed to satisfy constraint: Member must ...")."""

    # The Python type of each shape type, and how a finding names it.
    TYPES = {"structure": (dict, "a structure"), "list": (list, "a list"), "map": (dict, "a map")}
    TYPES.update(string=(str, "a string"), boolean=(bool, "a boolean"), timestamp=((int, float), "epoch seconds"))
    TYPES.update(integer=(int, "an integer"), long=(int, "an integer"))
    SIZED = {"integer": "have value", "long": "have value", "string": "have length", "list": "have length"}
    SIZED.update(map="have length")

    def __init__(self):
        self.patterns = {}

    def compiled(self, pattern):
        """A model's pattern as Python compiles it. Two spellings Python refuses: Auto Scaling's characters beyond
        U+FFFF as a UTF-16 surrogate range (``\\uD800\\uDC00-\\uDBFF\\uDFFF``: ``\\U00010000-\\U0010FFFF`` in
        Python), and Recycle Bin's quantified quantifier (RuleArn's ``[0-9a-zA-Z]{11}{0,1011}``: the class and its
        first count grouped)."""
        if pattern not in self.patterns:
            python = pattern.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")
            python = re.sub(r"(\[[^\]]*\]\{[0-9]+\})(\{[0-9]+,[0-9]+\})", r"(?:\1)\2", python)
            self.patterns[pattern] = re.compile(python)
        return self.patterns[pattern]

    def errors(self, shape, value, path):
        found = []
        self.check(shape, value, path, found)
        return found

    def check(self, shape, value, path, found):
        def fail(constraint, quoted=shown(value)):
            found.append(f"Value{quoted} at '{path}' failed to satisfy constraint: Member must {constraint}")

        kind = shape.type_name
        if value is None:
            return fail("not be null", " null")
        if kind not in self.TYPES:
            return found.append(f"Value at '{path}' has a shape type {kind} the local endpoint cannot check")
        python_type, name = self.TYPES[kind]
        if not isinstance(value, python_type) or (isinstance(value, bool) and kind != "boolean"):
            return fail("be " + name)
        if kind in self.SIZED:
            size, what = (value if kind in ("integer", "long") else len(value)), self.SIZED[kind]
            low, high = shape.metadata.get("min"), shape.metadata.get("max")
            if low is not None and size < low:
                fail(f"{what} greater than or equal to {low}", "")
            if high is not None and size > high:
                fail(f"{what} less than or equal to {high}", "")
        if kind == "string" and shape.enum and value not in shape.enum:
            fail(f"satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = shape.metadata.get("pattern") if kind == "string" else None
        if pattern is not None and self.compiled(pattern).search(value) is None:
            fail(f"satisfy regular expression pattern: {pattern}")
        if kind == "structure":
            for name in shape.required_members:
                if name not in value:
                    self.check(shape.members[name], None, join(path, name), found)
            for name, item in value.items():
                if name not in shape.members:
                    found.append(f"Unknown member '{join(path, name)}'; the model allows {sorted(shape.members)}")
                else:
                    self.check(shape.members[name], item, join(path, name), found)
        elif kind == "list":
            for index, item in enumerate(value):
                self.check(shape.member, item, f"{path}.{index + 1}", found)
        elif kind == "map":
            for key, item in value.items():
                self.check(shape.key, key, f"{path}.key({key})", found)
                self.check(shape.value, item, f"{path}.value({key})", found)
        return None


def shown(value):
    """A value as a finding quotes it: strings in quotes, numbers as they are, structures not at all."""
    if isinstance(value, (dict, list)):
        return ""
    return f" '{value}'" if isinstance(value, str) else f" {value!r}"


def join(path, name):
    return f"{path}.{name}" if path else name


class Model:
    """The parts of one botocore model the endpoint needs, built once per process (loading a model is slow)."""

    instances = {}
    instances_lock = threading.Lock()
    service, implemented, invalid = None, (), None

    @classmethod
    def get(cls):
        with cls.instances_lock:
            if cls not in cls.instances:
                cls.instances[cls] = cls()
            return cls.instances[cls]

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model(self.service)
        self.operations = {name: self.model.operation_model(name) for name in self.implemented}
        self.validator = ShapeValidator()

    def check_input(self, operation, params):
        errors = self.validator.errors(self.operations[operation].input_shape, params, "")
        if errors:
            noun = "error" if len(errors) == 1 else "errors"
            raise EndpointError(self.invalid, f"{len(errors)} validation {noun} detected: " + "; ".join(errors), 400)

    def output_errors(self, operation, result):
        return self.validator.errors(self.operations[operation].output_shape, result, "")

    def error_status(self, code):
        """The HTTP status the model gives an error (its shape's name or its ``error.code``), or None when the code
        is not a modeled error."""
        for name in self.model.shape_names:
            shape = self.model.shape_for(name)
            error = shape.metadata.get("error", {}) if shape.metadata.get("exception") else None
            if error is not None and code in (name, error.get("code")):
                return error.get("httpStatusCode", 400)
        return None


class RestJsonModel(Model):
    """A rest-json model (Image Builder, Recycle Bin): requests routed by method and path, answers as JSON."""

    def __init__(self):
        super().__init__()
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

    def route(self, method, path):
        """The operation a request names and its URI members (percent-decoded), or (None, {})."""
        if (method, path) in self.routes:
            return self.routes[(method, path)], {}
        for template_method, pattern, name in self.templates:
            match = pattern.match(path) if template_method == method else None
            if match:
                return name, {key: unquote(value) for key, value in match.groupdict().items()}
        return None, {}

    def parse_request(self, operation, query, body, uri_params=None):
        """Rebuild the parameters botocore serialized: URI and querystring members from the URL, the rest from JSON."""
        shape = self.operations[operation].input_shape
        params = dict(uri_params or {})
        in_query = {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
        in_query = {
            wire: pair for wire, pair in in_query.items() if pair[1].serialization.get("location") == "querystring"
        }
        for wire, values in parse_qs(query, keep_blank_values=True).items():
            if wire not in in_query:
                raise EndpointError(self.invalid, f"Unknown query parameter '{wire}'")
            name, member = in_query[wire]
            if member.type_name != "list" and len(values) != 1:
                raise EndpointError(self.invalid, f"Query parameter '{wire}' must appear once")
            item = member.member if member.type_name == "list" else member
            found = [scalar(item, value, name, self.invalid) for value in values]
            params[name] = found if member.type_name == "list" else found[0]
        # A URI label's member is named by its locationName (rbin's {identifier} is Identifier).
        labels = {m.serialization.get("name", n): n for n, m in shape.members.items()}
        params = {labels.get(key, key): value for key, value in params.items()}
        try:
            document = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise EndpointError(self.invalid, f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise EndpointError(self.invalid, "The request body must be a JSON object")
        for name, value in document.items():
            if name not in shape.members or shape.members[name].serialization.get("location"):
                raise EndpointError(self.invalid, f"Unknown parameter '{name}' in the body of {operation}")
            params[name] = value
        return params


class ServiceModel(RestJsonModel):
    """Image Builder's model."""

    service, implemented, invalid = SERVICE, OPERATIONS, "InvalidRequestException"

    def __init__(self):
        super().__init__()
        # The two ARN kinds ListLifecycleExecutions accepts, recognised by the patterns of the model's own shapes.
        self.image_build_version_arn = re.compile(self.model.shape_for("ImageBuildVersionArn").metadata["pattern"])
        self.lifecycle_policy_arn = re.compile(self.model.shape_for("LifecyclePolicyArn").metadata["pattern"])
        self.output_member_names = set()
        for operation in self.operations.values():
            member_names(operation.output_shape, self.output_member_names, set())

    def page_bounds(self, operation):
        shape = self.operations[operation].input_shape.members["maxResults"]
        low, high = shape.metadata.get("min", 1), shape.metadata.get("max", DEFAULT_PAGE_SIZE)
        return low, high, min(DEFAULT_PAGE_SIZE, high)

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
            name: without(shape.members[name], value, omit)
            for name, value in result.items()
            if name == keep or not omitted(shape, name, omit)
        }


class RbinModel(RestJsonModel):
    """Recycle Bin's model."""

    service, implemented, invalid = RBIN, RBIN_OPERATIONS, "ValidationException"


class QueryModel(Model):
    """A query-protocol model (EC2, Auto Scaling): form requests, XML answers. EC2 flattens its lists
    (``Filter.1.Value.1=...``, items named ``item``); the others wrap them (``Filters.member.1.Values.member.1``,
    items named ``member``) and put an answer's members in a ``<ActionResult>``."""

    ec2 = False

    def __init__(self):
        super().__init__()
        self.api_version = self.model.metadata["apiVersion"]
        self.namespace = self.model.metadata["xmlNamespace"].rstrip("/") + "/"

    def action(self, form):
        """The Action a form names, after checking it and the API version: an EndpointError with EC2's code if not."""
        action, version = single(form, "Action"), single(form, "Version")
        if action is None:
            raise EndpointError("MissingAction", "The request must contain the parameter Action", 400)
        if action not in self.model.operation_names:
            raise EndpointError("InvalidAction", f"The action {action} is not valid for this web service.", 400)
        if action not in self.operations:
            message = f"The action {action} is not implemented by the local endpoint."
            raise EndpointError("UnsupportedOperation", message, 400)
        if version is None:
            raise EndpointError("MissingParameter", "The request must contain the parameter Version", 400)
        if version != self.api_version:
            message = f"The requested version ({version}) of service AmazonEC2 does not exist."
            raise EndpointError("NoSuchVersion", message, 400)
        return action

    def parse_request(self, action, form):
        """Rebuild the parameters botocore's EC2 serializer flattened, through the model's member names."""
        flat = {}
        for key, values in form.items():
            if len(values) != 1:
                raise EndpointError("InvalidParameterValue", f"The parameter {key} appears more than once", 400)
            flat[key] = values[0]
        consumed = {"Action", "Version"}
        params = from_form(self.operations[action].input_shape, "", flat, consumed, self.ec2)
        unknown = sorted(set(flat) - consumed)
        if unknown:
            raise EndpointError("UnknownParameter", f"The parameter {unknown[0]} is not recognized", 400)
        return params

    def answer(self, action, result, request_id):
        """The XML answer: EC2's ``<ActionResponse xmlns=...><requestId/>`` and the output members by locationName;
        the others' ``<ActionResponse><ActionResult>`` members ``</ActionResult><ResponseMetadata>``."""
        out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{self.namespace}">']
        wrapper = self.operations[action].output_shape.serialization.get("resultWrapper")
        if self.ec2:
            out.append(f"<requestId>{request_id}</requestId>")
        out.append(f"<{wrapper}>" if wrapper else "")
        to_xml(self.operations[action].output_shape, result, None, out)
        out.append(f"</{wrapper}>" if wrapper else "")
        if not self.ec2:
            out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
        out.append(f"</{action}Response>")
        return "".join(out).encode("utf-8")

    def error_body(self, code, message, request_id):
        """EC2's ``<Response><Errors><Error>``, the others' ``<ErrorResponse><Error><Type>`` (Sender or Receiver)."""
        if self.ec2:
            return ec2_error_body(code, message, request_id)
        kind = "Receiver" if (self.error_status(code) or 400) >= 500 else "Sender"
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{self.namespace}"><Error>'
            f"<Type>{kind}</Type><Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode("utf-8")


class Ec2Model(QueryModel):
    """EC2's model."""

    service, implemented, invalid, ec2 = EC2, EC2_OPERATIONS, "InvalidParameterValue", True


class AutoScalingModel(QueryModel):
    """Auto Scaling's model (query protocol, AWS's generic ``ValidationError`` for bad input)."""

    service, implemented, invalid = AUTOSCALING, AUTOSCALING_OPERATIONS, "ValidationError"


def model_of(service):
    """The model of one of the endpoint's services, built once per process."""
    return {SERVICE: ServiceModel, EC2: Ec2Model, AUTOSCALING: AutoScalingModel, RBIN: RbinModel}[service].get()


def single(form, key):
    values = form.get(key)
    return values[0] if values else None


def scalar(shape, raw, name, code):
    """A number or a boolean from its text on the wire (a query string, a form)."""
    try:
        if shape.type_name in ("integer", "long"):
            return int(raw)
        if shape.type_name == "boolean":
            return {"true": True, "false": False}[raw.lower()]
    except (ValueError, KeyError) as exc:
        raise EndpointError(code, f"Invalid value '{raw}' for {name}", 400) from exc
    return raw


def from_form(shape, prefix, flat, consumed, ec2):
    """A member from the flat form: structures by their members' wire names (EC2: queryName, else locationName
    capitalised, else the name; others: locationName, else the name), lists numbered from 1 (EC2 ``Owner.1``,
    others ``Names.member.1``), scalars as text."""
    if shape.type_name == "structure":
        value = {}
        for name, member in shape.members.items():
            location = member.serialization.get("name")
            wire = location or name
            if ec2:
                wire = member.serialization.get("queryName") or (
                    location[0].upper() + location[1:] if location else name
                )
            key = join(prefix, wire)
            if key in flat or any(found.startswith(key + ".") for found in flat):
                value[name] = from_form(member, key, flat, consumed, ec2)
        return value
    if shape.type_name == "list":
        if flat.get(prefix) == "":
            consumed.add(prefix)
            return []
        listed = prefix if ec2 or shape.serialization.get("flattened") else f"{prefix}.member"
        item = re.compile(re.escape(listed) + r"\.([0-9]+)(?:\.|$)")
        indexes = sorted({int(match.group(1)) for match in map(item.match, flat) if match})
        if indexes != list(range(1, len(indexes) + 1)):
            message = f"The list {prefix} must be numbered 1, 2, ... without gaps"
            raise EndpointError("InvalidParameterValue", message, 400)
        return [from_form(shape.member, f"{listed}.{index}", flat, consumed, ec2) for index in indexes]
    if prefix not in flat:
        raise EndpointError("InvalidParameterValue", f"The parameter {prefix} takes a single value", 400)
    consumed.add(prefix)
    return scalar(shape, flat[prefix], prefix, "InvalidParameterValue")


def to_xml(shape, value, tag, out):
    """A member as EC2 writes it: lists wrapped, their items named by the member's locationName (``item``); a
    structure without a tag is the answer itself."""
    if shape.type_name == "structure":
        out.append(f"<{tag}>" if tag else "")
        for name, member in shape.members.items():
            if name in value:
                to_xml(member, value[name], member.serialization.get("name", name), out)
        out.append(f"</{tag}>" if tag else "")
    elif shape.type_name == "list":
        item = shape.member.serialization.get("name", "member")
        out.append(f"<{tag}>" if value else f"<{tag}/>")
        for element in value:
            to_xml(shape.member, element, item, out)
        out.append(f"</{tag}>" if value else "")
    elif shape.type_name == "boolean":
        out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    elif shape.type_name == "timestamp":
        # Epoch seconds in the stored answer (what the output shape's check takes); ISO 8601 in XML, as AWS writes it.
        moment = datetime.fromtimestamp(value, timezone.utc)
        out.append(f"<{tag}>{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{moment.microsecond // 1000:03d}Z</{tag}>")
    else:
        out.append(f"<{tag}>{xml_escape(str(value))}</{tag}>")


def xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def ec2_error_body(code, message, request_id):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    ).encode("utf-8")


def member_names(shape, names, seen):
    """Every member name at any depth of a shape (what ``omit_members`` may name)."""
    if shape.name in seen:
        return
    seen.add(shape.name)
    children = []
    if shape.type_name == "structure":
        names.update(shape.members)
        children = shape.members.values()
    elif shape.type_name in ("list", "map"):
        children = [shape.member if shape.type_name == "list" else shape.value]
    for child in children:
        member_names(child, names, seen)


def omitted(shape, name, omit):
    return name not in shape.required_members and (omit == "*" or name in omit)


def without(shape, value, omit):
    if shape.type_name == "structure":
        members = shape.members
        return {
            name: without(members[name], item, omit) for name, item in value.items() if not omitted(shape, name, omit)
        }
    if shape.type_name == "list":
        return [without(shape.member, item, omit) for item in value]
    if shape.type_name == "map":
        return {key: without(shape.value, item, omit) for key, item in value.items()}
    return value
