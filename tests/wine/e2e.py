"""keyless.exe end to end under Wine, as a Windows user meets it.

Run by scripts/cross.sh (not by pytest): `python tests/wine/e2e.py KEYLESS_EXE`, with WINEPREFIX
naming a throwaway, booted Wine prefix. Steps, each one asserted:

1. keyless.exe is installed under `C:\\Program Files\\keyless` (a path with a space) and the
   built-in emulator runs from it;
2. a device-code login stores the session in Credential Manager (`KEYLESS_STORE=wincred`);
3. `credential-process` prints one JSON document (cold: one GetRoleCredentials), and a warm
   call is served from Credential Manager (no second call);
4. `profiles sync` writes `credential_process` lines that botocore splits back into the right
   arguments on Windows, and that the Rust SDK runs through `cmd.exe` (`whoami --profile`);
5. `logout` removes every Credential Manager entry of the session, after which
   `credential-process` fails with empty stdout;
6. no secret the emulator issued (nor its base64, percent-encoded or UTF-16 forms) is in any
   file of the Wine prefix written during the run (drive C: and the registry) or in any
   output.

Exits non-zero on the first failure.
"""

import base64
import configparser
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from botocore.compat import compat_shell_split

START_URL = "https://d-1234567890.awsapps.com/start"
REGION = "ap-northeast-2"
WINE = os.environ.get("WINE", "wine")
TIMEOUT = 300  # Wine starts slowly on a loaded machine; this is a hang guard, not a budget.

outputs = []


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, env, ok=True):
    proc = subprocess.run(
        [WINE, EXE_WIN, *args], env=env, capture_output=True, text=True, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    # credential-process prints role credentials on stdout for the SDK: that is the protocol.
    outputs.extend([proc.stderr] if args[0] == "credential-process" else [proc.stdout, proc.stderr])
    if ok:
        check(proc.returncode == 0, f"keyless {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def http_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def credential_manager_targets(env, namespace):
    """Credential Manager entries of `namespace`, read live from Wine's registry."""
    proc = subprocess.run(
        [WINE, "reg", "query", r"HKCU\Software\Wine\Credential Manager", "/s"],
        env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )
    return [line.strip() for line in proc.stdout.splitlines() if namespace in line]


def encoded_forms(secret):
    forms = {secret, base64.b64encode(secret.encode()).decode(), urllib.parse.quote(secret, safe="")}
    return [f.encode() for f in forms] + [secret.encode("utf-16-le")]


def scan(roots, secret_values, since):
    """Every regular file under `roots` written since `since` (symlinks not followed: Wine
    links some folders to the Linux home); fails on an unreadable file. Returns the files."""
    needles = [n for s in secret_values for n in encoded_forms(s)]
    scanned = []
    for root in roots:
        paths = [root] if root.is_file() else []
        if root.is_dir():
            for d, dirs, files in os.walk(root, followlinks=False):
                paths.extend(Path(d) / f for f in files)
        for p in paths:
            if p.is_symlink() or not p.is_file() or p.stat().st_mtime < since:
                continue
            try:
                data = p.read_bytes()
            except OSError as e:
                fail(f"cannot read {p} to scan it for secrets: {e}")
            scanned.append(p)
            for n in needles:
                check(n not in data, f"a secret (or an encoding of it) reached the file {p}")
    return scanned


def main():
    global EXE_WIN
    started = time.time() - 2
    exe = Path(sys.argv[1]).resolve()
    prefix = Path(os.environ["WINEPREFIX"])
    drive_c = prefix / "drive_c"
    check(drive_c.is_dir(), f"{prefix} is not a booted Wine prefix")

    install = drive_c / "Program Files" / "keyless"
    install.mkdir(parents=True, exist_ok=True)
    # copy2 keeps the build's mtime: the binary (which carries the built-in demo organisation,
    # fixture keys included) is not a file the run wrote.
    shutil.copy2(exe, install / "keyless.exe")
    EXE_WIN = r"C:\Program Files\keyless\keyless.exe"
    (drive_c / "keyless-e2e" / "aws").mkdir(parents=True, exist_ok=True)

    namespace = f"keyless-e2e-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("XDG_CONFIG_HOME", "KEYLESS_STORE")}
    env.update(
        WINEDEBUG="-all",
        AWS_CONFIG_FILE=r"C:\keyless-e2e\aws\config",
        AWS_SHARED_CREDENTIALS_FILE=r"C:\keyless-e2e\aws\credentials",
        KEYLESS_STORE="wincred",
        KEYLESS_STORE_NAMESPACE=namespace,
        NO_COLOR="1",
    )

    emu = subprocess.Popen(
        [WINE, EXE_WIN, "emulator", "serve", "--auto-approve"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        url = emu.stdout.readline().strip()
        check(url.startswith("http://127.0.0.1:"), f"the emulator did not print its URL, got {url!r}")
        for service in ("SSO_OIDC", "SSO", "STS", "IAM", "SIGNIN"):
            env[f"AWS_ENDPOINT_URL_{service}"] = url

        def role_calls():
            return http_json(url + "/_emulator/stats")["operations"].get("GetRoleCredentials", 0)

        run(["login", "--session", "acme", "--start-url", START_URL, "--region", REGION,
             "--device-code", "--no-browser"], env)
        check(credential_manager_targets(env, namespace), "login stored nothing in Credential Manager")

        cp = ["credential-process", "--session", "acme", "--account", "111111111111", "--role", "Developer"]
        cold = run(cp, env)
        doc = json.loads(cold.stdout)
        check(doc["Version"] == 1 and doc["AccessKeyId"].startswith("ASIA"), f"not credential_process JSON: {cold.stdout}")
        check(role_calls() == 1, "the cold call did not make exactly one GetRoleCredentials")
        warm = run(cp, env)
        check(json.loads(warm.stdout)["AccessKeyId"] == doc["AccessKeyId"], "the warm call returned other credentials")
        check(role_calls() == 1, "the warm call was not served from Credential Manager")

        run(["profiles", "sync", "--session", "acme", "--yes"], env)
        config = (drive_c / "keyless-e2e" / "aws" / "config").read_text()
        lines = [l.split("=", 1)[1].strip() for l in config.splitlines() if l.startswith("credential_process")]
        check(lines, f"profiles sync wrote no credential_process line:\n{config}")
        for line in lines:
            argv = compat_shell_split(line, platform="win32")
            check(argv[0] == EXE_WIN and argv[1] == "credential-process",
                  f"botocore on Windows splits {line!r} into {argv!r}")
        parsed = configparser.ConfigParser(interpolation=None)
        parsed.read_string(config)
        profile = next(
            name[len("profile "):] for name in parsed.sections()
            if "--account 111111111111 --role Developer" in parsed[name].get("credential_process", "")
        )
        who = run(["whoami", "--profile", profile, "--json"], env)
        check("111111111111" in who.stdout, f"whoami through cmd.exe: {who.stdout}\n{who.stderr}")

        issued = [s for s in http_json(url + "/_emulator/secrets") if len(s) >= 8]
        check(issued, "the emulator issued no secrets: nothing would be proven")

        run(["logout", "--session", "acme"], env)
        left = credential_manager_targets(env, namespace)
        check(not left, f"logout left Credential Manager entries: {left}")
        after = run(cp, env, ok=False)
        check(after.returncode != 0 and after.stdout == "", f"credential-process after logout: {after.returncode} {after.stdout!r}")
        check(role_calls() == 1, "credential-process after logout called AWS")
    finally:
        emu.terminate()
        emu.wait(timeout=60)

    # Let Wine write its registry to disk before scanning the prefix's files.
    subprocess.run(["wineserver", "-w"], env=env, timeout=TIMEOUT)
    scanned = scan([drive_c, *sorted(prefix.glob("*.reg"))], issued, started)
    config_file = drive_c / "keyless-e2e" / "aws" / "config"
    check(config_file in scanned and prefix / "user.reg" in scanned,
          f"the scan missed the files keyless wrote: {scanned}")
    for out in outputs:
        for s in issued:
            check(s not in out, f"a secret reached an output:\n{out}")
    print(f"Windows end to end under Wine: ok ({len(scanned)} files written during the run, "
          f"scanned for {len(issued)} secrets)")


if __name__ == "__main__":
    main()
