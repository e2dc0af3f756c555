"""The HTTP server: the API on one loopback port (Image Builder's rest-json, and EC2's query protocol for a request
whose SigV4 credential scope names ec2), the control API under ``/_endpoint/``, fault rules and the request log."""

import argparse
import copy
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
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from . import autoscaling
from . import ec2
from . import executions
from . import images
from . import policies
from . import rbin
from . import references
from . import snapshots
from .common import LOG
from .common import ControlError
from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .model import AUTOSCALING
from .model import EC2
from .model import EC2_ERROR_STATUS
from .model import QUERY_SERVICES
from .model import RBIN
from .model import REGIONAL_SERVICES
from .model import SERVICE
from .model import SERVICES
from .model import ServiceModel
from .model import model_of
from .model import single
from .scenario import World
from .scenario import non_negative

HANDLERS = {
    SERVICE: dict(**executions.OPERATIONS, **policies.OPERATIONS, **images.OPERATIONS),
    EC2: dict(**ec2.OPERATIONS, **references.OPERATIONS, **snapshots.OPERATIONS),
    AUTOSCALING: autoscaling.OPERATIONS,
    RBIN: rbin.OPERATIONS,
}
CONTROL_PREFIX = "/_endpoint/"
FAULT_KEYS = "operation service fault skip count probability seed code status message seconds body".split()
FAULT_KINDS = ("error", "denied", "delay", "drop", "truncate", "garbage")
# A denied call, as each service answers an IAM deny: its code and status.
DENIED = {EC2: ("UnauthorizedOperation", 403), AUTOSCALING: ("AccessDenied", 403)}
DENIED.update({SERVICE: ("AccessDeniedException", 403), RBIN: ("AccessDeniedException", 403)})
# What a 'truncate' fault sends before it closes the connection.
PARTIAL = {
    SERVICE: b'{"lifecycleExecution": {"lifecycleExecutionId": "lce-',
    EC2: b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeImagesResponse><imagesSet><item><imageId>',
    AUTOSCALING: b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeAutoScalingGroupsResponse><DescribeAuto',
    RBIN: b'{"Rules": [{"Identifier": "',
}
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
XML = "text/xml;charset=UTF-8"


class FaultRule:
    """One injected fault: which calls it takes (every call of its operation counts) and what it does to them."""

    def __init__(self, spec, model):
        check_keys(spec, FAULT_KEYS, "fault rule")
        self.spec = dict(spec)
        self.operation, self.service = spec.get("operation", "*"), spec.get("service")
        owner = [service for service in SERVICES if self.operation in HANDLERS[service]]
        if self.operation != "*" and not owner:
            raise ScenarioError(f"fault rule: unknown operation {self.operation!r}")
        if self.service not in (None, *SERVICES) or (owner and self.service not in (None, owner[0])):
            raise ScenarioError(f"fault rule: {self.operation} is not an operation of service {self.service!r}")
        self.service = owner[0] if owner else self.service
        self.kind = spec.get("fault")
        if self.kind not in FAULT_KINDS:
            raise ScenarioError(f"fault rule: 'fault' must be one of {list(FAULT_KINDS)}")
        if self.kind == "denied" and {"code", "status"} & set(spec):
            raise ScenarioError("fault rule: a 'denied' fault takes its code and status from the service")
        self.skip = non_negative(spec.get("skip", 0), "fault rule.skip")
        # A permission stays missing: a denial takes every call unless told otherwise.
        self.count = spec.get("count", None if self.kind == "denied" else 1)
        self.count = None if self.count is None else non_negative(self.count, "fault rule.count")
        self.probability = spec.get("probability")
        if self.probability is not None and not 0.0 <= float(self.probability) <= 1.0:
            raise ScenarioError("fault rule: 'probability' must be between 0 and 1")
        self.rng = random.Random(spec.get("seed", 0))
        self.code, self.status = spec.get("code"), spec.get("status")
        if self.kind == "error" and not isinstance(self.code, str):
            raise ScenarioError("fault rule: an 'error' fault needs a 'code'")
        if self.kind == "error" and self.status is None:
            # EC2 models no errors: its codes' statuses are EC2_ERROR_STATUS (first, for a rule that only hits EC2).
            # The others' come from their models (Image Builder's, for a rule that names no service).
            modeled = (model if self.service in (None, SERVICE) else model_of(self.service)).error_status(self.code)
            listed = EC2_ERROR_STATUS.get(self.code)
            self.status = (listed or modeled) if self.service == EC2 else (modeled or listed)
            if self.status is None:
                raise ScenarioError(f"fault rule: {self.code!r} is not a modeled error; give an explicit 'status'")
        self.message = spec.get("message", f"Injected {self.code or self.kind} fault")
        self.seconds = float(spec.get("seconds", 0.0))
        self.body = spec.get("body", "<html><body>502 Bad Gateway</body></html>")
        self.seen = self.fired = 0

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

    def error(self, service, operation, account_id):
        """The error an 'error' or 'denied' fault sends for this call (a denial names the caller, in the account)."""
        if self.kind == "error":
            return EndpointError(self.code, self.message, self.status)
        code, status = DENIED[service]
        action = f"{service}:{operation}"
        message = self.spec.get("message") or (
            f"You are not authorized to perform this operation. User: arn:aws:iam::{account_id}:user/local is not"
            f" authorized to perform: {action} because no identity-based policy allows the {action} action"
        )
        return EndpointError(code, message, status)


class LocalEndpoint:
    """The stand-in server: ``with LocalEndpoint("scenarios/demo.json") as ep:`` then ``endpoint_url=ep.url``."""

    def __init__(self, scenario, host="127.0.0.1", port=0, log_path=None):
        if host != "localhost" and not is_loopback(host):
            raise ValueError(f"refusing to bind {host!r}: the local endpoint only listens on loopback")
        self.host, self.port, self.log_path = host, port, log_path
        self.service = ServiceModel.get()
        self.lock, self.log_lock = threading.RLock(), threading.Lock()
        self.log, self.log_file, self.server, self.thread, self.connections = [], None, None, None, set()
        self.load_scenario(scenario)

    def start(self):
        if self.log_path:
            self.log_file = open(self.log_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self.server = Server((self.host, self.port), Handler)
        self.server.endpoint = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        with self.log_lock:
            for connection in list(self.connections):
                close_quietly(connection)
            self.connections.clear()
        self.thread.join(timeout=5)
        self.server = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- control ---------------------------------------------------------------------------------------------------

    def requests(self, operation=None, service=None):
        with self.log_lock:
            return [
                dict(e) for e in self.log if operation in (None, e["operation"]) and service in (None, e["service"])
            ]

    def add_faults(self, rules):
        new = [FaultRule(rule, self.service) for rule in ([rules] if isinstance(rules, dict) else rules)]
        with self.lock:
            self.fault_rules.extend(new)
        return self.faults()

    def clear_faults(self):
        with self.lock:
            self.fault_rules = []

    def faults(self):
        with self.lock:
            return [rule.describe() for rule in self.fault_rules]

    def reset(self):
        self.load_scenario(self.document)

    def load_scenario(self, scenario):
        """Replace the scenario: fresh state, the scenario's own faults, an empty request log."""
        if isinstance(scenario, dict):
            document = copy.deepcopy(scenario)
        else:
            with open(scenario, encoding="utf-8") as handle:
                try:
                    document = json.load(handle)
                except ValueError as exc:
                    raise ScenarioError(f"{scenario}: {exc}") from exc
        world = World(document, self.service)
        faults = document.get("faults", [])
        if not isinstance(faults, list):
            raise ScenarioError("scenario.faults: expected a list of fault rules")
        faults = [FaultRule(rule, self.service) for rule in faults]
        with self.lock:
            self.document, self.world, self.fault_rules = document, world, faults
        with self.log_lock:
            self.log = []

    def scenario(self):
        return copy.deepcopy(self.document)

    def run_policy(self, document):
        """``POST /_endpoint/run_policy``: ``{"lifecyclePolicyArn": ARN}`` -> ``{"lifecycleExecutionId": ...}``."""
        if not isinstance(document, dict) or set(document) != {"lifecyclePolicyArn"}:
            raise ControlError(400, 'expected {"lifecyclePolicyArn": "<lifecycle policy ARN>"} and nothing else')
        if not isinstance(document["lifecyclePolicyArn"], str):
            raise ControlError(400, "lifecyclePolicyArn: expected a string")
        with self.lock:
            return policies.run_policy(self.world, document["lifecyclePolicyArn"], time.time())

    def control(self, method, path, query, document):
        """One control-API call (README.md, "Control API"): its answer, or a ControlError."""
        routes = {
            ("GET", "health"): lambda: {"status": "ok"},
            ("GET", "requests"): lambda: self.requests(
                *(query.get(key, [None])[0] for key in ("operation", "service"))
            ),
            ("POST", "reset"): lambda: self.reset() or {"reset": True},
            ("GET", "faults"): self.faults,
            ("POST", "faults"): lambda: self.add_faults(document if document is not None else []),
            ("DELETE", "faults"): lambda: self.clear_faults() or [],
            ("GET", "scenario"): self.scenario,
            ("POST", "scenario"): lambda: self.load_scenario(document if document is not None else {})
            or {"loaded": True},
            ("POST", "run_policy"): lambda: self.run_policy(document),
        }
        if (method, path) not in routes:
            raise ControlError(404, f"no control route {method} {CONTROL_PREFIX}{path}")
        return routes[(method, path)]()

    # -- request handling (called from handler threads) ------------------------------------------------------------

    def track(self, connection, opened):
        with self.log_lock:
            (self.connections.add if opened else self.connections.discard)(connection)

    def record(self, service, operation, params, module):
        with self.log_lock:
            entry = dict(seq=len(self.log) + 1, time=time.time(), service=service, operation=operation, module=module)
            entry.update(params=params, status=None, fault=None, error=None)
            self.log.append(entry)
            return entry

    def finish(self, entry, status, fault=None, error=None):
        with self.log_lock:
            entry.update(status=status, fault=fault, error=error)
            if self.log_file is not None:
                self.log_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self.log_file.flush()

    def pick_fault(self, service, operation, entry):
        """The first rule that takes this call, marked on its log entry at once (a delayed call is still in flight)."""
        with self.lock:
            rule = None
            for candidate in self.fault_rules:
                # Every rule counts every call of its operation, so 'skip' means the same thing whatever precedes it.
                if candidate.offer(service, operation, taken=rule is not None):
                    rule = candidate
        if rule is not None:
            with self.log_lock:
                entry["fault"] = rule.kind
        return rule

    def call(self, service, operation, params, region):
        """Check one call against the input shape, run it, check its answer against the output shape: the answer
        (less the members ``omit_members`` names), or an EndpointError."""
        model = model_of(service)
        model.check_input(operation, params)
        with self.lock:
            world = self.world
            where = (region,) if service in REGIONAL_SERVICES else ()
            result = HANDLERS[service][operation](world, params, *where, time.time())
        errors = model.output_errors(operation, result)
        if errors:
            LOG.error("BUG: the %s answer does not match the output shape: %s", operation, "; ".join(errors))
            message = f"{operation} answer failed output-shape validation: " + "; ".join(errors)
            raise EndpointError("LocalEndpointOutputValidationError", message, 500)
        # Only what is sent loses members: replays and timelines work on the whole answer.
        return result if service != SERVICE else self.service.without_members(operation, result, world.omit)


def calling_module(user_agent):
    """The Ansible module that made a call, from the ``ansible-module/NAME`` the collection adds to its User-Agent."""
    match = re.search(r"(?:^| )ansible-module/([A-Za-z0-9_.]+)", user_agent)
    return match.group(1) if match else None


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def close_quietly(connection):
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    endpoint = None


class Handler(BaseHTTPRequestHandler):
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
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def dispatch(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        endpoint = self.server.endpoint
        if parts.path.startswith(CONTROL_PREFIX):
            try:
                path = parts.path.removeprefix(CONTROL_PREFIX).rstrip("/")
                answer = endpoint.control(self.command, path, parse_qs(parts.query), json.loads(body or "null"))
            except ControlError as exc:
                return self.send_json(exc.status, {"message": exc.message})
            except (ScenarioError, ValueError, TypeError) as exc:
                return self.send_json(400, {"message": str(exc)})
            return self.send_json(200, answer)
        scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
        service, region = SERVICE, None
        if scope is not None and scope.group(2) in REGIONAL_SERVICES:
            service, region = scope.group(2), scope.group(1)
        reader = self.query_request if service in QUERY_SERVICES else self.rest_json_request
        operation, params, error = reader(service, parts, body, self.command)
        entry = endpoint.record(service, operation, params, calling_module(self.headers.get("User-Agent", "")))
        if error is not None:
            return self.send_error_answer(service, error, entry)
        rule = endpoint.pick_fault(service, operation, entry)
        if rule is not None and rule.kind != "delay":
            return self.send_fault(service, operation, rule, entry)
        if rule is not None:
            time.sleep(rule.seconds)
        try:
            result = endpoint.call(service, operation, params, region)
        except EndpointError as exc:
            return self.send_error_answer(service, exc, entry, fault=rule and rule.kind)
        # The log entry is complete before the answer leaves, so a client that reads the log next sees it.
        endpoint.finish(entry, 200, fault=rule and rule.kind)
        if service not in QUERY_SERVICES:
            return self.send_json(200, result)
        request_id = str(uuid.uuid4())
        return self.send_bytes(200, model_of(service).answer(operation, result, request_id), XML, request_id=request_id)

    @staticmethod
    def rest_json_request(service, parts, body, method=None):
        """(operation, parameters, error) of an Image Builder or Recycle Bin request: the parameters botocore
        serialized."""
        model = model_of(service)
        operation, uri_params = model.route(method, parts.path)
        if operation not in model.operations:
            message = f"{operation or method + ' ' + parts.path} is not implemented by the local endpoint"
            return operation, None, EndpointError("UnknownOperationException", message, 404)
        try:
            return operation, model.parse_request(operation, parts.query, body, uri_params), None
        except EndpointError as exc:
            return operation, None, exc

    @staticmethod
    def query_request(service, parts, body, method=None):  # pylint: disable=unused-argument
        """(action, parameters, error) of an EC2 or Auto Scaling query request (form body, or query string)."""
        form = parse_qs(parts.query, keep_blank_values=True)
        for key, values in parse_qs(body, keep_blank_values=True).items():
            form.setdefault(key, []).extend(values)
        model = model_of(service)
        try:
            return model.action(form), model.parse_request(single(form, "Action"), form), None
        except EndpointError as exc:
            return single(form, "Action"), None, exc

    def send_error_answer(self, service, error, entry, fault=None):
        """An API error as the service writes it: rest-json (Image Builder, Recycle Bin), or query XML (EC2's, Auto
        Scaling's)."""
        request_id = str(uuid.uuid4())
        model = model_of(service)
        if service in QUERY_SERVICES:
            status = error.status or (EC2_ERROR_STATUS if service == EC2 else {}).get(error.code)
            status = status or model.error_status(error.code) or 400
            body, content_type, headers = model.error_body(error.code, error.message, request_id), XML, {}
        else:
            status = error.status or model.error_status(error.code) or 400
            body, content_type = json.dumps({"message": error.message}).encode("utf-8"), "application/json"
            headers = {"x-amzn-ErrorType": error.code}
        self.server.endpoint.finish(entry, status, fault=fault, error=error.code)
        self.send_bytes(status, body, content_type, headers, request_id)

    def send_fault(self, service, operation, rule, entry):
        if rule.kind in ("error", "denied"):
            error = rule.error(service, operation, self.server.endpoint.world.account_id)
            return self.send_error_answer(service, error, entry, rule.kind)
        status = None if rule.kind == "drop" else 200
        self.server.endpoint.finish(entry, status, fault=rule.kind)
        if rule.kind == "garbage":
            return self.send_bytes(200, rule.body.encode("utf-8"), "text/html")
        if rule.kind == "truncate":
            # A Content-Length larger than the body, then the connection closes.
            partial = PARTIAL[service]
            self.send_response(200)
            self.send_header("Content-Type", XML if service in QUERY_SERVICES else "application/json")
            self.send_header("Content-Length", str(len(partial) + 512))
            self.end_headers()
            self.wfile.write(partial)
            self.wfile.flush()
        self.close_connection = True
        return close_quietly(self.connection)

    def send_json(self, status, document):
        self.send_bytes(status, json.dumps(document, separators=(",", ":")).encode("utf-8"), "application/json")

    def send_bytes(self, status, body, content_type, headers=None, request_id=None):
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


def write_atomically(path, text):
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="The local Image Builder and EC2 endpoint (README.md beside it).")
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
            write_atomically(args.pid_file, f"{os.getpid()}\n")
        if args.url_file:
            write_atomically(args.url_file, endpoint.url + "\n")
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
