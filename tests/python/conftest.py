"""Fixtures that run `keyless emulator serve` and give botocore / the AWS CLI a clean,
isolated environment pointed at it.

botocore reads HOME (for ~/.aws/sso/cache) when it is imported, so every botocore call runs
in a subprocess started with the prepared environment (see `run_botocore`).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

START_URL = "https://d-1234567890.awsapps.com/start"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _keyless_bin():
    path = os.environ.get("KEYLESS_BIN")
    if not path:
        raise RuntimeError("KEYLESS_BIN is not set: point it at the built keyless binary (target/debug/keyless)")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(f"KEYLESS_BIN={path} is not an executable file; build it with `cargo build` first")
    return path


@pytest.fixture(scope="session")
def keyless_bin():
    try:
        return _keyless_bin()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


class Emulator:
    """A running emulator process and its admin API."""

    def __init__(self, keyless_bin, args):
        self.proc = subprocess.Popen(
            [keyless_bin, "emulator", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the emulator did not print its URL, got {line!r}")
        self.url = line

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def call(self, method, path, body=None, headers=None):
        """(status, lowercase headers, parsed JSON or raw text) of one request."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                status, rh, raw = r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            status, rh, raw = e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
        try:
            return status, rh, json.loads(raw) if raw else None
        except ValueError:
            return status, rh, raw.decode()

    def call_patiently(self, method, path, body=None, headers=None):
        """Like `call`, but waits out throttling (429) the way an SDK would."""
        for _ in range(50):
            status, rh, parsed = self.call(method, path, body, headers)
            if status != 429:
                break
            time.sleep(0.2)
        return status, rh, parsed

    def stats(self):
        return self.call("GET", "/_emulator/stats")[2]

    def op_count(self, op):
        return self.stats()["operations"].get(op, 0)

    def approve(self, user_code):
        status, _, body = self.call("POST", "/_emulator/approve", {"userCode": user_code})
        assert status == 200, body

    def deny(self, user_code):
        status, _, body = self.call("POST", "/_emulator/deny", {"userCode": user_code})
        assert status == 200, body

    def disable_user(self, name):
        status, _, body = self.call("POST", f"/_emulator/users/{name}/disable")
        assert status == 200, body

    def secrets(self):
        return self.call("GET", "/_emulator/secrets")[2]

    def access_key_status(self, key_id):
        return self.call("GET", f"/_emulator/access-keys/{key_id}")[2]["status"]

    def device_login(self):
        """A device-code login over plain HTTP; returns the CreateToken response plus the client."""
        status, _, reg = self.call_patiently(
            "POST",
            "/client/register",
            {"clientName": "pytest", "clientType": "public", "scopes": ["sso:account:access"]},
        )
        assert status == 200, reg
        client = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
        status, _, dev = self.call_patiently("POST", "/device_authorization", {**client, "startUrl": START_URL})
        assert status == 200, dev
        # Harmless 404 when the emulator auto-approves.
        self.call_patiently("POST", "/_emulator/approve", {"userCode": dev["userCode"]})
        status, _, tok = self.call_patiently(
            "POST", "/token", {**client, "grantType": DEVICE_GRANT, "deviceCode": dev["deviceCode"]}
        )
        assert status == 200, tok
        return {**tok, **client}

    def role_credentials(self, access_token, account, role):
        status, _, body = self.call_patiently(
            "GET",
            f"/federation/credentials?role_name={role}&account_id={account}",
            headers={"x-amz-sso_bearer_token": access_token},
        )
        assert status == 200, body
        return body["roleCredentials"]


@pytest.fixture
def start_emulator(keyless_bin):
    """`start_emulator(*args)` runs an emulator for the test; all are stopped afterwards."""
    running = []

    def start(*args):
        emu = Emulator(keyless_bin, list(args))
        running.append(emu)
        return emu

    yield start
    for emu in running:
        emu.stop()


@pytest.fixture
def aws_env(tmp_path):
    """`aws_env(emulator)`: a clean environment (HOME in tmp) with every endpoint on the emulator."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)

    def make(emu):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "BOTO_")) and k not in ("HOME", "PYTHONPATH")
        }
        env.update(
            HOME=str(home),
            AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL_SSO_OIDC=emu.url,
            AWS_ENDPOINT_URL_SSO=emu.url,
            AWS_ENDPOINT_URL_STS=emu.url,
            AWS_ENDPOINT_URL_IAM=emu.url,
        )
        return env

    make.home = home
    return make


def run_botocore(script, env, timeout=60):
    """Runs `script` in a fresh Python with `env`; it must print one JSON document last."""
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"botocore script failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def aws_cli(args, env, timeout=60):
    """Runs the AWS CLI from the same venv; returns the CompletedProcess."""
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    return subprocess.run([aws, *args], env=env, capture_output=True, text=True, timeout=timeout)
