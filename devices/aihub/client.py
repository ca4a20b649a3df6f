"""A thin wrapper over the `qai_hub` client: connect, list devices, upload, submit a profile job, poll, download.

Facts about the client this relies on (qai_hub 0.56.0, read in its source):
- Credentials: an INI file with [api] api_token, api_url, web_url. `qai-hub configure --api_token TOKEN` writes
  ~/.qai_hub/client.ini; $QAIHUB_CLIENT_INI names another file; `Client(profile=NAME)` reads ~/.qai_hub/NAME.ini
  (api_utils.get_config_path). The token never leaves this module: messages are scrubbed of it.
- `Client.config` loads that file lazily: a missing file is a UserError at the first call, not at `Client()`.
- Errors: a 401 becomes UserError("Failed to authenticate. ..."), a missing token UserError("... API token is
  missing ..."), a 429 RateLimitedError, other 4xx UserError(detail), connection failures InternalError("Could not
  connect to ..."). Messages carry a drawn text box; `one_line` flattens them.
- Connection errors are retried inside the client for about 45 s (urllib3 Retry, backoff 0.75); `reachable` checks
  the API host once with a short timeout first, so "no network" is one prompt line.
- `submit_profile_job` prints a deprecation banner to stdout since 0.56; `submit_inference_job(profile=True)` is the
  same job without it. `retry=False` stops the client from retrying a rate-limited submit for 10 minutes.
- `profile=` (and `inputs=None`) arrived in 0.56.0: 0.55.0's `submit_inference_job(model, device, inputs, name,
  options, retry, project)` has neither (read in both wheels), so an older client is refused by its
  `qai_hub.__version__` (a packaging Version) before anything is sent.
- qai-hub 0.56.0 declares protobuf<=6.31.1, below the pinned stack: it is installed without resolution, its
  requirements listed in requirements.txt beside this file (INSTALL).
- `Job.wait` polls every 10 s and prints when verbose; we poll `get_status()` ourselves to bound and show progress.
"""

from __future__ import annotations

import difflib
import os
import re
import socket
import threading
from urllib.parse import urlparse

from bench.core.errors import BenchError, DeviceError

WEB_ACCOUNT = "https://app.aihub.qualcomm.com/account/"
CONFIGURE = f"run `qai-hub configure --api_token TOKEN` (token from {WEB_ACCOUNT}) or set QAIHUB_CLIENT_INI to a client.ini"


class AIHubError(DeviceError):
    """AI Hub refused, failed or could not be reached. One line, never a credential."""


# The one command that installs the client into the README's environment (devices/aihub/README.md, .ci/run).
INSTALL = ".venv/bin/pip install --no-deps -c constraints.txt -r devices/aihub/requirements.txt"
MIN_CLIENT = (0, 56, 0)  # submit_inference_job(profile=True)


class NoCredentials(AIHubError):
    exit_code = 2


def _qai_hub():
    try:
        import qai_hub
    except ImportError:
        raise BenchError(f"the AI Hub target needs the qai-hub client; from the repository root run: {INSTALL}"
                         ) from None
    check_client_version(str(getattr(qai_hub, "__version__", "unknown")))
    return qai_hub


def check_client_version(installed: str) -> None:
    """One line when the installed client predates what bench calls."""
    numbers = tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.+-]", installed)[:3])
    if len(numbers) < 3 or numbers < MIN_CLIENT:
        needed = ".".join(map(str, MIN_CLIENT))
        raise BenchError(f"qai-hub {installed} is installed; the AI Hub target needs qai-hub {needed} or newer "
                         f"(submit_inference_job(profile=True)); from the repository root run: {INSTALL}")


def one_line(text: str, secret: str | None = None) -> str:
    """The client's multi-line messages (with a drawn box) as one line, the token replaced if it appears."""
    text = re.sub(r"[┌┐└┘─│|]+", " ", str(text))
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "<token>")
    return text


def config_path(client_profile: str | None = None) -> str:
    from qai_hub import api_utils

    return api_utils.get_config_path(profile=client_profile)


def load_config(client_profile: str | None = None):
    """The client's own config (ClientConfig), or one line saying how to configure it."""
    _qai_hub()
    from qai_hub import api_utils

    path = config_path(client_profile)
    if not os.path.exists(path):
        raise NoCredentials(f"no AI Hub credentials ({path} does not exist): {CONFIGURE}")
    try:
        config = api_utils.load_api_config_from_file(path)
    except Exception:  # a file without [api] api_token/api_url/web_url
        raise NoCredentials(f"the AI Hub config {path} lacks api_token, api_url or web_url: {CONFIGURE}") from None
    if not config.api_token.strip():
        raise NoCredentials(f"the AI Hub config {path} has an empty api_token: {CONFIGURE}")
    config.verbose = False  # the client's progress bars and banners go to stdout, which --json owns
    return config


def reachable(api_url: str, timeout_s: float = 5.0) -> None:
    """One bounded TCP connect to the API host; the client would retry a dead network for ~45 s."""
    url = urlparse(api_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout_s).close()
    except OSError as e:
        raise AIHubError(f"cannot reach AI Hub at {url.hostname}:{port} ({e.strerror or e}); check the network "
                         "or api_url in the qai-hub config") from None


class Hub:
    """One connected client. Every call goes through `_call`, which turns the client's errors into one line."""

    def __init__(self, client_profile: str | None = None):
        qai_hub = _qai_hub()
        self.config = load_config(client_profile)
        reachable(self.config.api_url)
        self.client = qai_hub.Client(config=self.config)
        self._uploads: dict[str, object] = {}
        self._lock = threading.Lock()

    def _call(self, action: str, fn, *args, **kwargs):
        import qai_hub
        from qai_hub.client import RateLimitedError  # not re-exported at the package's top level

        try:
            return fn(*args, **kwargs)
        except RateLimitedError as e:
            raise AIHubError(f"AI Hub rate limit or quota reached while {action}: "
                             f"{one_line(e, self.config.api_token)}; try again later") from None
        except qai_hub.UserError as e:
            msg = one_line(e, self.config.api_token)
            if "Failed to authenticate" in msg or "API token is missing" in msg:
                raise NoCredentials(f"AI Hub refused the API token (bad or expired): {CONFIGURE}") from None
            raise AIHubError(f"AI Hub refused {action}: {msg}") from None
        except qai_hub.InternalError as e:
            raise AIHubError(f"AI Hub failed while {action}: {one_line(e, self.config.api_token)}") from None
        except (qai_hub.Error, ValueError, OSError) as e:
            raise AIHubError(f"AI Hub failed while {action}: {one_line(e, self.config.api_token)}") from None

    def devices(self) -> list:
        return self._call("listing devices", self.client.get_devices)

    def device(self, name: str):
        """The one device of that exact name (AI Hub's newest OS for it), or a line naming close ones."""
        found = self._call(f"looking up device '{name}'", self.client.get_devices, name=name)
        if found:
            return max(found, key=lambda d: _os_key(d.os))
        names = sorted({d.name for d in self.devices()})
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AIHubError(f"unknown AI Hub device '{name}'{hint} (`bench targets --aihub` lists the {len(names)} "
                         "devices this account can use)")

    def upload(self, path, sha256: str):
        """Upload once per artifact per process: several device lanes share the model."""
        with self._lock:
            if sha256 not in self._uploads:
                self._uploads[sha256] = self._call(f"uploading {os.path.basename(str(path))}",
                                                   self.client.upload_model, str(path))
            return self._uploads[sha256]

    def submit(self, model, device, options: str, name: str):
        return self._call(f"submitting a profile job on '{device.name}'", self.client.submit_inference_job,
                          model, device, inputs=None, name=name, options=options, retry=False, profile=True)

    def status(self, job):
        return self._call(f"polling job {job.job_id}", job.get_status)

    def profile(self, job) -> dict:
        return self._call(f"downloading the profile of job {job.job_id}", job.download_profile)

    def job(self, job_id: str):
        return self._call(f"fetching job {job_id}", self.client.get_job, job_id)


def _os_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.\-]", version or "0"))


def list_devices(client_profile: str | None = None) -> list[dict]:
    """`bench targets --aihub`: the devices this account can use, as AI Hub lists them (name, OS, chipset,
    runtimes). Sorted by name; one row per (name, OS)."""
    from devices.aihub.profile import device_facts

    rows = []
    for d in Hub(client_profile).devices():
        facts = device_facts(d.name, d.os, d.attributes)
        rows.append({"name": d.name, "os": d.os, "chipset": facts["chipset"], "platform": facts["os"],
                     "runtimes": sorted(a.split(":", 1)[1] for a in facts["attributes"] if a.startswith("framework:"))})
    return sorted(rows, key=lambda r: (r["name"], _os_key(r["os"])))
