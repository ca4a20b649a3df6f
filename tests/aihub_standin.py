"""A loopback stand-in for Qualcomm AI Hub's REST service, for the real `qai_hub` client.

Built from the client's own definitions (qai_hub 0.56.0): the messages are `qai_hub.public_api_pb2`, the paths those
`public_rest_api.py` requests (api/v1/devices/, models/, models/ID/multipart_upload/, jobs/, jobs/ID/,
jobs/ID/result/), the content type `api_utils.response_as_protobuf` accepts (application/x-protobuf), the
"token TOKEN" header of `api_utils.auth_header`, and the status codes the client maps to its errors (401, 403 with a
JSON detail, 404). The model upload takes the multipart branch of `upload_model`: one pre-signed PUT URL (here on the
same loopback server) answered with an ETag, then the completion POST.

Point the client at it with QAIHUB_CLIENT_INI=<dir>/client.ini (written by `StandIn`). It checks what the client
sends; its profile figures are whatever a test gives it and never reach a stored record or a report.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from qai_hub import public_api_pb2 as pb

PROTOBUF = "application/x-protobuf"
RUNNING = [pb.JOB_STATE_CREATED, pb.JOB_STATE_PROVISIONING_DEVICE, pb.JOB_STATE_MEASURING_PERFORMANCE]
S23_ATTRS = ["vendor:samsung", "os:android", "framework:tflite", "framework:onnx", "framework:qnn", "format:phone",
             "chipset:qualcomm-snapdragon-8gen2"]


def device(name="Samsung Galaxy S23", os="13", attributes=tuple(S23_ATTRS)) -> pb.Device:
    return pb.Device(name=name, os=os, attributes=list(attributes))


def profile_detail(times_us, units, load_us=(120000, 9000)) -> pb.ProfileDetail:
    """A ProfileDetail of format 1.2+ (per-run times present), one layer per entry of `units` ('NPU', 'CPU', ...)."""
    detail = pb.ProfileDetail(major_version=1, minor_version=8, execution_time=min(times_us),
                              after_execution_peak_memory=41_000_000, cold_load_time=load_us[0],
                              warm_load_time=load_us[1])
    detail.all_execution_times.extend(times_us)
    detail.all_cold_load_times.append(load_us[0])
    detail.all_warm_load_times.append(load_us[1])
    detail.execution_memory.peak.lower, detail.execution_memory.peak.upper = 2_000_000, 40_000_000
    for i, unit in enumerate(units):
        detail.layer_details.append(pb.LayerDetail(name=f"layer{i}", layer_type_name="CONV_2D", id=f":0:{i}",
                                                   compute_unit=pb.ComputeUnit.Value(f"COMPUTE_UNIT_{unit}"),
                                                   execution_time=10))
    return detail


@dataclass
class FakeHub:
    token: str = "standin-token-0123456789"
    devices: list = field(default_factory=lambda: [device(), device("Samsung Galaxy S24 (Family)", "14"),
                                                   device("Google Pixel 8", "14", ["os:android", "framework:tflite",
                                                                                   "chipset:google-tensor-g3"])])
    profile: pb.ProfileDetail | None = None  # what a finished job reports
    failure: str | None = None  # a job that fails on the device, with this reason
    quota_detail: str | None = None  # job creation refused with 403 and this detail
    polls_per_state: int = 1  # status checks a job spends in each running state
    input_shape: tuple = (1, 224, 224, 3)
    requests: list = field(default_factory=list)  # (method, path)
    models: dict = field(default_factory=dict)  # id -> {"pb", "bytes", "complete"}
    jobs: dict = field(default_factory=dict)  # id -> {"pb": InferenceJob, "polls": n}
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -------------------------------------------------------------- the API, one method per path the client uses
    def get_devices(self, q):
        name, attrs = q.get("name", [""])[0], q.get("attributes", [])
        found = [d for d in self.devices if (not name or d.name == name) and set(attrs) <= set(d.attributes)]
        if q.get("select", ["False"])[0] == "True":
            found = found[:1]
        return pb.DeviceList(devices=found, total_query_count=len(found))

    def create_model(self, body):
        model = pb.Model.FromString(body)
        model_id = f"m{len(self.models) + 1:04d}"
        model.model_id = model_id
        self.models[model_id] = {"pb": model, "bytes": b"", "complete": False}
        return pb.CreateUpdateResponse(id=model_id, creation_time=_now())

    def upload_url(self, model_id, q, port):
        size = int(q["file_size"][0])
        self.models[model_id]["size"] = size
        url = pb.FileMultipartUploadURL(urls=[f"http://127.0.0.1:{port}/s3/{model_id}/1"], upload_id=f"u-{model_id}",
                                        max_part_size=max(size, 1))
        return pb.FileUploadResponse(multipart_url=url)

    def complete_upload(self, model_id, body):
        done = pb.FileMultipartUploadComplete.FromString(body)
        model = self.models[model_id]
        assert done.upload_id == f"u-{model_id}" and list(done.etags) == [f'"{model_id}-1"'], done
        assert len(model["bytes"]) == model["size"], "upload incomplete"
        model["complete"] = True
        return pb.CreateUpdateResponse(id=model_id)

    def create_job(self, body):
        job = pb.Job.FromString(body).inference_job
        assert job.is_profiling_on and self.models[job.model.model_id]["complete"], job
        job_id = f"j{len(self.jobs) + 1:04d}"
        job.inference_job_id = job_id
        job.model.CopyFrom(self.models[job.model.model_id]["pb"])
        job.job_state = RUNNING[0]
        self.jobs[job_id] = {"pb": job, "polls": 0}
        return pb.CreateUpdateResponse(id=job_id, creation_time=_now())

    def get_job(self, job_id):
        entry = self.jobs[job_id]
        job = entry["pb"]
        entry["polls"] += 1
        step = entry["polls"] // self.polls_per_state
        if step >= len(RUNNING):
            job.job_state = pb.JOB_STATE_FAILED if self.failure else pb.JOB_STATE_DONE
            if self.failure:
                job.failure_reason = self.failure
            else:
                shape = pb.TensorType(shape=list(self.input_shape), dtype=pb.TENSOR_DTYPE_FLOAT32)
                job.tensor_type_list.CopyFrom(pb.NamedTensorTypeList(
                    types=[pb.NamedTensorType(name="image", tensor_type=shape)]))
        else:
            job.job_state = RUNNING[step]
        return pb.Job(inference_job=job, hub_version="standin-0.1")

    def get_result(self, job_id):
        assert self.jobs[job_id]["pb"].job_state == pb.JOB_STATE_DONE, "result asked of an unfinished job"
        result = pb.InferenceJobResult(inference_job_id=job_id)
        if self.profile is not None:
            result.detail.CopyFrom(self.profile)
        return pb.JobResult(inference_job_result=result)


def _now():
    from google.protobuf.timestamp_pb2 import Timestamp

    return Timestamp(seconds=int(time.time()))


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status, body=b"", content_type=PROTOBUF, headers=()):
        if hasattr(body, "SerializeToString"):
            body = body.SerializeToString()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, method):
        url = urlparse(self.path)
        body = self._body()
        hub = self.hub
        with hub.lock:
            hub.requests.append((method, url.path))
        if url.path.startswith("/s3/") and method == "PUT":  # the pre-signed upload URL: no API token on it
            model_id = url.path.split("/")[2]
            hub.models[model_id]["bytes"] += body
            return self._send(200, b"", "text/plain", [("ETag", f'"{model_id}-1"')])
        if self.headers.get("Authorization") != f"token {hub.token}":
            return self._send(401, b'{"detail": "Invalid token."}', "application/json")
        q = parse_qs(url.query)
        path = re.sub(r"^/api/v1/", "", url.path).strip("/").split("/")
        with hub.lock:
            return self._dispatch(method, path, q, body)

    def _dispatch(self, method, path, q, body):
        hub = self.hub
        if method == "GET" and path == ["devices"]:
            return self._send(200, hub.get_devices(q))
        if method == "POST" and path == ["models"]:
            return self._send(200, hub.create_model(body))
        if path[0] == "models" and path[2:] == ["multipart_upload"]:
            if method == "GET":
                return self._send(200, hub.upload_url(path[1], q, self.server.server_address[1]))
            return self._send(200, hub.complete_upload(path[1], body))
        if method == "POST" and path == ["jobs"]:
            if hub.quota_detail:
                return self._send(403, json.dumps({"detail": hub.quota_detail}).encode(), "application/json")
            return self._send(200, hub.create_job(body))
        if method == "GET" and path[0] == "jobs" and len(path) in (2, 3):
            if path[1] not in hub.jobs:
                return self._send(404, b'{"detail": "Not found."}', "application/json")
            return self._send(200, hub.get_job(path[1]) if len(path) == 2 else hub.get_result(path[1]))
        return self._send(404, f"stand-in: no route {method} {self.path}".encode(), "text/plain")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")


class StandIn:
    """`with StandIn(hub, tmp_path) as s:` serves on 127.0.0.1 and writes s.ini; s.env points the client at it."""

    def __init__(self, hub: FakeHub, directory: Path, token: str | None = None):
        self.hub, self.directory = hub, Path(directory)
        self.token = hub.token if token is None else token  # a different token: the client sends a bad one

    def __enter__(self):
        handler = type("Handler", (_Handler,), {"hub": self.hub})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.ini = self.directory / "client.ini"
        write_ini(self.ini, f"http://127.0.0.1:{self.port}", self.token)
        self.env = {"QAIHUB_CLIENT_INI": str(self.ini)}
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def write_ini(path: Path, api_url: str, token: str) -> None:
    """The file `qai-hub configure` writes (qai_hub/_cli.py `configure`): section [api]."""
    path.write_text(f"[api]\napi_token = {token}\napi_url = {api_url}\nweb_url = {api_url}/web/\nverbose = False\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
