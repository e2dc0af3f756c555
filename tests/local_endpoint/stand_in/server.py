"""The HTTP server: the API on one loopback port (Image Builder's rest-json, and EC2's query protocol for a request
whose SigV4 credential scope names ec2), the control API under ``/_endpoint/``, fault injection and the request log.

    python tests/local_endpoint/imagebuilder_endpoint.py --scenario tests/local_endpoint/scenarios/demo.json

See README.md beside the package for the scenario format, the control API and the fault rules.
"""

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

from . import ec2
from . import executions
from . import images
from . import policies
from .common import LOG
from .common import ControlError
from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .model import EC2
from .model import EC2_ERROR_STATUS
from .model import EC2_OPERATIONS
from .model import SERVICE
from .model import SERVICES
from .model import Ec2Model
from .model import ServiceModel
from .model import ec2_error_body
from .model import single
from .scenario import World

HANDLERS = dict(**executions.OPERATIONS, **policies.OPERATIONS, **images.OPERATIONS)
CONTROL_PREFIX = "/_endpoint/"
FAULT_KINDS = ("error", "delay", "drop", "truncate", "garbage")
OUTPUT_INVALID_CODE = "LocalEndpointOutputValidationError"
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


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
        check_keys(spec, self.KEYS, "fault rule")
        self.spec = dict(spec)
        self.operation = spec.get("operation", "*")
        known = tuple(HANDLERS) + EC2_OPERATIONS
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
        self.skip = non_negative(spec.get("skip", 0), "skip")
        self.count = spec.get("count", 1)
        if self.count is not None:
            self.count = non_negative(self.count, "count")
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


def non_negative(value, name):
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
            result = HANDLERS[operation](world, params, time.time())
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
        ec2_model = Ec2Model.get()
        ec2_model.check_input(action, params)
        with self._lock:
            result = ec2.OPERATIONS[action](self._world, params, region, time.time())
        errors = ec2_model.output_errors(action, result)
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
            return policies.run_policy(self._world, arn, time.time())


def _calling_module(user_agent):
    """The Ansible module that made a call, from the ``ansible-module/NAME`` the collection adds to its User-Agent."""
    match = re.search(r"(?:^| )ansible-module/([A-Za-z0-9_.]+)", user_agent)
    return match.group(1) if match else None


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
        scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
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
        action = single(form, "Action")
        module = _calling_module(self.headers.get("User-Agent", ""))
        try:
            ec2_model = Ec2Model.get()
            ec2_model.action(form)
            params = ec2_model.parse_request(action, form)
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
        self._send_bytes(
            200, ec2_model.answer(action, result, request_id), "text/xml;charset=UTF-8", request_id=request_id
        )

    def _send_ec2_error(self, error, entry, fault=None):
        status = error.status or EC2_ERROR_STATUS.get(error.code, 400)
        request_id = str(uuid.uuid4())
        self.server.endpoint.finish(entry, status, fault=fault, error=error.code)
        body = ec2_error_body(error.code, error.message, request_id)
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
