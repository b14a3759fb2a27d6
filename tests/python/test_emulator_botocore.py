"""The emulator judged by botocore and the AWS CLI, unpatched: every operation, the error
cases, botocore's own SSO credential provider (with a refresh through single-use refresh
tokens) and `aws sts get-caller-identity`."""

import hashlib
import json
import re
import threading
import time

from conftest import DEVICE_GRANT, START_URL, aws_cli, run_botocore

DEMO_KEY = "AKIAACMEDEV000000001"
DEMO_SECRET = "acmeDemoSecretKey0000000000000000000000a"

PRELUDE = """
import json, os, botocore.session
from botocore.exceptions import ClientError
IN = json.loads(os.environ.get("TEST_INPUT", "{}"))
s = botocore.session.get_session()
def err(fn, *a, **k):
    try:
        fn(*a, **k)
    except ClientError as e:
        return [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
    raise AssertionError("expected an error from %s" % fn)
def msg(fn, *a, **k):
    # As docs/troubleshooting.md lists AWS's answers: "Code: message".
    try:
        fn(*a, **k)
    except ClientError as e:
        return "%s: %s" % (e.response["Error"]["Code"], e.response["Error"]["Message"])
    raise AssertionError("expected an error from %s" % fn)
"""


def run(script, env, **inputs):
    return run_botocore(PRELUDE + script, {**env, "TEST_INPUT": json.dumps(inputs)})


def test_botocore_clients_drive_every_operation(start_emulator, aws_env):
    emu = start_emulator("--auto-approve")
    out = run(
        """
oidc = s.create_client("sso-oidc")
reg = oidc.register_client(clientName="botocore-client-emu", clientType="public", scopes=["sso:account:access"])
dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=IN["start"])
tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                        grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
ref = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                        grantType="refresh_token", refreshToken=tok["refreshToken"])
reuse = err(oidc.create_token, clientId=reg["clientId"], clientSecret=reg["clientSecret"],
            grantType="refresh_token", refreshToken=tok["refreshToken"])
sso = s.create_client("sso")
at = ref["accessToken"]
accounts = [a for p in sso.get_paginator("list_accounts").paginate(accessToken=at, PaginationConfig={"PageSize": 1})
            for a in p["accountList"]]
roles = [r["roleName"] for p in sso.get_paginator("list_account_roles").paginate(
            accessToken=at, accountId="222222222222", PaginationConfig={"PageSize": 1}) for r in p["roleList"]]
rc = sso.get_role_credentials(accessToken=at, accountId="111111111111", roleName="Developer")["roleCredentials"]
unassigned = msg(sso.get_role_credentials, accessToken=at, accountId="111111111111", roleName="Admin")
sts = s.create_client("sts", aws_access_key_id=rc["accessKeyId"], aws_secret_access_key=rc["secretAccessKey"],
                      aws_session_token=rc["sessionToken"])
who = sts.get_caller_identity()
iam = s.create_client("iam", aws_access_key_id=IN["key"], aws_secret_access_key=IN["secret"])
keys = iam.list_access_keys()["AccessKeyMetadata"]
iam.update_access_key(AccessKeyId=IN["key"], Status="Inactive")
after = err(iam.list_access_keys)
sso.logout(accessToken=at)
logged_out = err(sso.list_accounts, accessToken=at)
print(json.dumps({
    "reg": {k: reg[k] for k in ("clientIdIssuedAt", "clientSecretExpiresAt")},
    "dev": {k: dev[k] for k in ("verificationUri", "verificationUriComplete", "userCode", "expiresIn", "interval")},
    "tok": {k: tok.get(k) for k in ("tokenType", "expiresIn")}, "rotated": ref["refreshToken"] != tok["refreshToken"],
    "reuse": reuse, "accounts": [a["accountId"] for a in accounts], "roles": roles,
    "akid": rc["accessKeyId"], "expiration": rc["expiration"],
    "who": {k: who[k] for k in ("Arn", "UserId", "Account")},
    "keys": [[k["AccessKeyId"], k["Status"], k["UserName"]] for k in keys], "after": after,
    "logged_out": logged_out, "unassigned": unassigned,
}))
""",
        aws_env(emu),
        start=START_URL,
        key=DEMO_KEY,
        secret=DEMO_SECRET,
    )
    now = time.time()
    assert abs(out["reg"]["clientIdIssuedAt"] - now) < 60
    assert out["reg"]["clientSecretExpiresAt"] > now + 30 * 86400
    assert out["dev"]["verificationUriComplete"] == f"{emu.url}/device?user_code={out['dev']['userCode']}"
    assert out["dev"]["expiresIn"] == 600 and out["dev"]["interval"] == 1
    # Issued with a refresh token, so it lives one hour, as on AWS.
    assert out["tok"] == {"tokenType": "Bearer", "expiresIn": 3600}
    assert out["rotated"] and out["reuse"] == ["InvalidGrantException", 400]
    assert out["accounts"] == ["111111111111", "222222222222"]
    assert out["roles"] == ["ReadOnly", "Admin"]
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", out["akid"])
    assert abs(out["expiration"] / 1000 - (now + 3600)) < 60
    assert re.fullmatch(
        r"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_[0-9a-f]{16}/alice", out["who"]["Arn"]
    )
    assert re.fullmatch(r"AROA[A-Z2-7]{17}:alice", out["who"]["UserId"])
    assert out["keys"] == [[DEMO_KEY, "Active", "alice"]]
    assert out["after"] == ["InvalidClientTokenId", 403]
    assert emu.access_key_status(DEMO_KEY) == "Inactive"
    assert out["logged_out"] == ["UnauthorizedException", 401]
    assert out["unassigned"] == "ForbiddenException: No access"
    stats = emu.stats()["operations"]
    assert stats["ListAccounts"] == 3 and stats["GetRoleCredentials"] == 2 and stats["Logout"] == 1


def test_botocore_sees_every_oidc_and_portal_error(start_emulator, aws_env):
    emu = start_emulator()
    # The script pauses after writing two user codes; this thread approves one, denies the other.
    threading.Thread(target=_approve_when_asked, args=(emu, aws_env), daemon=True).start()
    out = run(
        """
oidc = s.create_client("sso-oidc")
reg = oidc.register_client(clientName="x", clientType="public", scopes=["sso:account:access"])
c = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
dev = oidc.start_device_authorization(startUrl=IN["start"], **c)
poll = lambda d: oidc.create_token(grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=d, **c)
res = {"pending": err(poll, dev["deviceCode"]), "slow": err(poll, dev["deviceCode"])}
dev2 = oidc.start_device_authorization(startUrl=IN["start"], **c)
# Written whole, then renamed into place: the reader never sees half a file.
with open(os.environ["CODES_OUT"] + ".tmp", "w") as f:
    json.dump([dev["userCode"], dev2["userCode"]], f)
os.replace(os.environ["CODES_OUT"] + ".tmp", os.environ["CODES_OUT"])
import time
while not os.path.exists(os.environ["CODES_OUT"] + ".done"):
    time.sleep(0.05)
time.sleep(1.1)
tok = poll(dev["deviceCode"])
res["denied"] = err(poll, dev2["deviceCode"])
res["bad_client"] = err(oidc.start_device_authorization, clientId=c["clientId"], clientSecret="nope", startUrl=IN["start"])
res["bad_refresh"] = err(oidc.create_token, grantType="refresh_token", refreshToken="nope", **c)
res["bad_grant"] = err(oidc.create_token, grantType="password", **c)
sso = s.create_client("sso")
res["bad_token"] = err(sso.list_accounts, accessToken="nope")
res["unassigned"] = err(sso.get_role_credentials, accessToken=tok["accessToken"], accountId="111111111111", roleName="Admin")
res["unknown_account"] = err(sso.list_account_roles, accessToken=tok["accessToken"], accountId="999999999999")
rc = sso.get_role_credentials(accessToken=tok["accessToken"], accountId="111111111111", roleName="ReadOnly")["roleCredentials"]
bad = s.create_client("sts", aws_access_key_id=rc["accessKeyId"], aws_secret_access_key="wrong" + rc["secretAccessKey"],
                      aws_session_token=rc["sessionToken"])
res["bad_secret"] = err(bad.get_caller_identity)
unknown = s.create_client("sts", aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="x")
res["unknown_key"] = err(unknown.get_caller_identity)
print(json.dumps(res))
""",
        {**aws_env(emu), "CODES_OUT": str(aws_env.home / "codes.json")},
        start=START_URL,
    )
    assert out["pending"] == ["AuthorizationPendingException", 400]
    assert out["slow"] == ["SlowDownException", 400]
    assert out["denied"] == ["AccessDeniedException", 400]
    assert out["bad_client"] == ["InvalidClientException", 401]
    assert out["bad_refresh"] == ["InvalidGrantException", 400]
    assert out["bad_grant"] == ["UnsupportedGrantTypeException", 400]
    assert out["bad_token"] == ["UnauthorizedException", 401]
    # AWS's answer for an unassigned role, although the service model does not list it.
    assert out["unassigned"] == ["ForbiddenException", 403]
    assert out["unknown_account"] == ["ResourceNotFoundException", 404]
    assert out["bad_secret"] == ["SignatureDoesNotMatch", 403]
    assert out["unknown_key"] == ["InvalidClientTokenId", 403]


def _approve_when_asked(emu, aws_env):
    """Approves the first code and denies the second once the botocore script writes them."""
    codes_file = aws_env.home / "codes.json"
    deadline = time.time() + 30
    codes = None
    while codes is None:
        assert time.time() < deadline, "the botocore script never wrote its user codes"
        try:
            codes = json.loads(codes_file.read_text())
        except (FileNotFoundError, ValueError):
            time.sleep(0.05)
    first, second = codes
    emu.approve(first)
    emu.deny(second)
    (aws_env.home / "codes.json.done").write_text("")


def test_expired_device_codes_tokens_and_role_credentials(start_emulator, aws_env):
    emu = start_emulator("--device-code-ttl", "1", "--token-ttl", "2", "--role-ttl", "2")
    tok = emu.device_login()
    rc = emu.role_credentials(tok["accessToken"], "222222222222", "ReadOnly")
    # The emulator counts whole seconds and the machine may be slow: poll each until its
    # answer changes (bounded), never guess how long a sleep must be.
    out = run(
        """
import time
def until_not(answers, fn, *a, **k):
    deadline = time.time() + 60
    while True:
        try:
            fn(*a, **k)
            got = None
        except ClientError as e:
            got = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
        if got is not None and got[0] not in answers:
            return got
        assert time.time() < deadline, "still %r after 60 s" % (got,)
        time.sleep(0.3)
oidc = s.create_client("sso-oidc")
reg = oidc.register_client(clientName="x", clientType="public")
dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=IN["start"])
expired_code = until_not({"AuthorizationPendingException", "SlowDownException"}, oidc.create_token,
                         clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                         grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
sts = s.create_client("sts", aws_access_key_id=IN["rc"]["accessKeyId"],
                      aws_secret_access_key=IN["rc"]["secretAccessKey"], aws_session_token=IN["rc"]["sessionToken"])
creds = until_not(set(), sts.get_caller_identity)
token = until_not(set(), s.create_client("sso").list_accounts, accessToken=IN["at"])
print(json.dumps({"expired_code": expired_code, "creds": creds, "token": token}))
""",
        aws_env(emu),
        start=START_URL,
        rc=rc,
        at=tok["accessToken"],
    )
    assert out == {
        "expired_code": ["ExpiredTokenException", 400],
        "creds": ["ExpiredToken", 403],
        "token": ["UnauthorizedException", 401],
    }


def test_botocore_sso_credential_provider_refreshes_through_single_use_refresh_tokens(start_emulator, aws_env):
    emu = start_emulator("--auto-approve")
    tok = emu.device_login()
    env = aws_env(emu)
    home = aws_env.home
    (home / ".aws" / "config").write_text(
        "[sso-session emu]\n"
        f"sso_start_url = {START_URL}\n"
        "sso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n\n"
        "[profile dev]\n"
        "sso_session = emu\n"
        "sso_account_id = 111111111111\n"
        "sso_role_name = Developer\n"
        "region = eu-west-1\n"
    )
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    cache_file = cache / (hashlib.sha1(b"emu").hexdigest() + ".json")
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    # Five minutes left: inside botocore's refresh window, so it must refresh before use.
    cache_file.write_text(
        json.dumps(
            {
                "startUrl": START_URL,
                "region": "us-east-1",
                "accessToken": tok["accessToken"],
                "expiresAt": time.strftime(fmt, time.gmtime(time.time() + 300)),
                "clientId": tok["clientId"],
                "clientSecret": tok["clientSecret"],
                "registrationExpiresAt": time.strftime(fmt, time.gmtime(time.time() + 30 * 86400)),
                "refreshToken": tok["refreshToken"],
            }
        )
    )
    out = run(
        """
sess = botocore.session.Session(profile="dev")
who = sess.create_client("sts").get_caller_identity()
print(json.dumps({"arn": who["Arn"], "method": sess.get_credentials().method}))
""",
        env,
    )
    assert out["method"] == "sso"
    assert re.fullmatch(
        r"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Developer_[0-9a-f]{16}/alice", out["arn"]
    )
    refreshed = json.loads(cache_file.read_text())
    assert refreshed["accessToken"] != tok["accessToken"]
    assert refreshed["refreshToken"] != tok["refreshToken"], "the rotated refresh token was written back"
    stats = emu.stats()["operations"]
    assert stats["CreateToken"] == 2, "one login plus exactly one refresh"
    assert stats["GetRoleCredentials"] == 1 and stats["GetCallerIdentity"] == 1
    # The original refresh token is spent; the rotated one still works.
    status, headers, body = emu.call(
        "POST",
        "/token",
        {
            "clientId": tok["clientId"],
            "clientSecret": tok["clientSecret"],
            "grantType": "refresh_token",
            "refreshToken": tok["refreshToken"],
        },
    )
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidGrantException", body
    status, _, body = emu.call(
        "POST",
        "/token",
        {
            "clientId": tok["clientId"],
            "clientSecret": tok["clientSecret"],
            "grantType": "refresh_token",
            "refreshToken": refreshed["refreshToken"],
        },
    )
    assert status == 200, body


def test_aws_cli_get_caller_identity_with_issued_role_credentials(start_emulator, aws_env):
    emu = start_emulator("--auto-approve")
    tok = emu.device_login()
    rc = emu.role_credentials(tok["accessToken"], "222222222222", "Admin")
    env = aws_env(emu)
    creds = aws_env.home / ".aws" / "credentials"
    creds.write_text(
        "[default]\n"
        f"aws_access_key_id = {rc['accessKeyId']}\n"
        f"aws_secret_access_key = {rc['secretAccessKey']}\n"
        f"aws_session_token = {rc['sessionToken']}\n"
    )
    p = aws_cli(["sts", "get-caller-identity", "--output", "json"], env)
    assert p.returncode == 0, p.stderr
    who = json.loads(p.stdout)
    assert re.fullmatch(r"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_Admin_[0-9a-f]{16}/alice", who["Arn"])
    assert who["Account"] == "222222222222"

    creds.write_text(
        "[default]\n"
        f"aws_access_key_id = {rc['accessKeyId']}\n"
        "aws_secret_access_key = wrongwrongwrongwrongwrongwrongwrongwrong\n"
        f"aws_session_token = {rc['sessionToken']}\n"
    )
    p = aws_cli(["sts", "get-caller-identity", "--output", "json"], env)
    assert p.returncode != 0
    assert "SignatureDoesNotMatch" in p.stderr, p.stderr


def test_throttling_and_faults_are_retried_by_botocore(start_emulator, aws_env):
    emu = start_emulator("--auto-approve", "--rate-limit", "2")
    tok = emu.device_login()
    env = {**aws_env(emu), "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "10"}
    out = run(
        """
sso = s.create_client("sso")
n = sum(len(sso.list_accounts(accessToken=IN["at"])["accountList"]) for _ in range(5))
print(json.dumps({"n": n}))
""",
        env,
        at=tok["accessToken"],
    )
    assert out["n"] == 10
    assert sum(emu.stats()["throttled"].values()) > 0

    faulty = start_emulator("--fault-rate", "1.0")
    out = run(
        """
oidc = s.create_client("sso-oidc")
print(json.dumps({"e": err(oidc.register_client, clientName="x", clientType="public")}))
""",
        {**aws_env(faulty), "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "2"},
    )
    assert out["e"] == ["InternalServerException", 500]
    assert faulty.op_count("RegisterClient") == 2


def test_token_lifetimes_follow_aws_scoped_one_hour_with_refresh_legacy_longer_without(start_emulator, aws_env):
    emu = start_emulator("--auto-approve")
    out = run(
        """
oidc = s.create_client("sso-oidc")
def token(**scopes):
    reg = oidc.register_client(clientName="x", clientType="public", **scopes)
    c = {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}
    dev = oidc.start_device_authorization(startUrl=IN["start"], **c)
    tok = oidc.create_token(grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"], **c)
    out = {"expiresIn": tok["expiresIn"], "refresh": "refreshToken" in tok}
    if out["refresh"]:
        ref = oidc.create_token(grantType="refresh_token", refreshToken=tok["refreshToken"], **c)
        out["refreshed"] = ref["expiresIn"]
    return out
print(json.dumps({"scoped": token(scopes=["sso:account:access"]), "legacy": token()}))
""",
        aws_env(emu),
        start=START_URL,
    )
    assert out["scoped"] == {"expiresIn": 3600, "refresh": True, "refreshed": 3600}
    assert out["legacy"] == {"expiresIn": 8 * 3600, "refresh": False}


def test_sigv4_credential_scope_is_checked_like_aws(start_emulator, aws_env):
    """botocore's own signer: IAM is global and signed for us-east-1; a request scoped to
    another region or service is refused with AWS's messages; STS answers in any region."""
    emu = start_emulator()
    out = run(
        """
import urllib.request, urllib.error
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
key = dict(aws_access_key_id=IN["key"], aws_secret_access_key=IN["secret"])
iam_home = s.create_client("iam", region_name="us-east-1", **key)
iam_away = s.create_client("iam", region_name="eu-west-1", **key)
res = {"home": len(iam_home.list_access_keys()["AccessKeyMetadata"]),
       "away": msg(iam_away.list_access_keys)}
res["sts"] = [s.create_client("sts", region_name=r, **key).get_caller_identity()["Account"]
              for r in ("eu-west-1", "ap-southeast-2", "us-gov-west-1")]
res["sts_nowhere"] = msg(s.create_client("sts", region_name="nowhere", **key).get_caller_identity)
# An IAM call signed for the sts service, as a misconfigured signer would.
body = "Action=ListAccessKeys&Version=2010-05-08"
req = AWSRequest(method="POST", url=IN["url"] + "/", data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(IN["key"], IN["secret"]), "sts", "us-east-1").add_auth(req)
try:
    urllib.request.urlopen(urllib.request.Request(req.url, data=body.encode(), headers=dict(req.headers), method="POST"))
    raise AssertionError("the wrongly scoped request was accepted")
except urllib.error.HTTPError as e:
    text = e.read().decode()
    import xml.etree.ElementTree as ET
    ns = {"i": "https://iam.amazonaws.com/doc/2010-05-08/"}
    root = ET.fromstring(text)
    res["service"] = [e.code, "%s: %s" % (root.find("i:Error/i:Code", ns).text, root.find("i:Error/i:Message", ns).text)]
print(json.dumps(res))
""",
        aws_env(emu),
        key=DEMO_KEY,
        secret=DEMO_SECRET,
        url=emu.url,
    )
    assert out["home"] == 1
    assert out["away"] == "SignatureDoesNotMatch: Credential should be scoped to a valid region, not 'eu-west-1'. "
    assert out["sts"] == ["111111111111"] * 3
    assert out["sts_nowhere"] == "SignatureDoesNotMatch: Credential should be scoped to a valid region. "
    assert out["service"] == [403, "SignatureDoesNotMatch: Credential should be scoped to correct service: 'iam'. "]
