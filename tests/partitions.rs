//! The partition table (`src/partition.rs`) against botocore's own data in the test venv:
//! `partitions.json` (which regions belong where, DNS suffixes), `endpoints.json` and each
//! service's `endpoint-rule-set-1.json` (evaluated by botocore's resolver), so the hosts keyless
//! uses in China, GovCloud, the EU sovereign cloud and the rest cannot drift from AWS's.

use std::io::Write;
use std::process::{Command, Stdio};

use keyless::partition::{self, PARTITIONS, Variant};
use keyless::sso::endpoints::{Service, default_for};

/// Asks botocore: its partitions, which partition each candidate region name belongs to,
/// and the endpoint (and signing region) of each service in every region and variant.
const BOTOCORE: &str = r#"
import json, re, sys
import botocore.session
from botocore.config import Config
from botocore.loaders import create_loader

candidates = json.load(sys.stdin)
loader = create_loader()
parts = loader.load_data("partitions")["partitions"]
legacy = loader.load_data("endpoints")["partitions"]

def partition_of(region):
    for p in parts:
        if region in p["regions"]:
            return p["id"]
    for p in parts:
        if re.match(p["regionRegex"], region):
            return p["id"]
    return None

session = botocore.session.get_session()
ops = {"sso-oidc": "RegisterClient", "sso": "ListAccounts", "sts": "GetCallerIdentity",
       "iam": "UpdateAccessKey", "signin": "CreateOAuth2Token"}
endpoints = []
for p in parts:
    for region in p["regions"]:
        if region.endswith("-global"):
            continue
        for service, op in ops.items():
            for fips, dual in [(False, False), (True, False), (False, True), (True, True)]:
                if service == "signin" and (fips or dual):
                    continue
                # Combinations AWS does not offer are errors in botocore: nothing to compare.
                try:
                    client = session.create_client(
                        service, region_name=region,
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                        config=Config(use_fips_endpoint=fips, use_dualstack_endpoint=dual))
                    model = client.meta.service_model.operation_model(op)
                    ep = client._ruleset_resolver.construct_endpoint(model, {}, {})
                except Exception:
                    continue
                schemes = ep.properties.get("authSchemes") or [{}]
                endpoints.append({"service": service, "region": region, "fips": fips,
                                  "dual": dual, "url": ep.url,
                                  "signingRegion": schemes[0].get("signingRegion")})

iam_legacy = {}
for p in legacy:
    iam = p["services"].get("iam")
    if iam and "partitionEndpoint" in iam:
        e = iam["endpoints"][iam["partitionEndpoint"]]
        iam_legacy[p["partition"]] = {"host": e.get("hostname"),
                                      "region": e.get("credentialScope", {}).get("region")}

json.dump({
    "partitions": [{"id": p["id"], "dnsSuffix": p["outputs"]["dnsSuffix"],
                    "dualStackDnsSuffix": p["outputs"]["dualStackDnsSuffix"],
                    "implicitGlobalRegion": p["outputs"]["implicitGlobalRegion"],
                    "regions": [r for r in p["regions"] if not r.endswith("-global")]}
                   for p in parts],
    "partitionOf": {c: partition_of(c) for c in candidates},
    "endpoints": endpoints,
    "iamLegacy": iam_legacy,
}, sys.stdout)
"#;

fn botocore(candidates: &[String]) -> serde_json::Value {
    let py = std::env::var("KEYLESS_TEST_PYTHON")
        .expect("KEYLESS_TEST_PYTHON must name the Python with botocore (scripts/test.sh sets it)");
    let mut child = Command::new(py)
        .args(["-c", BOTOCORE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running botocore");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(candidates).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "botocore failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("botocore's JSON")
}

/// Region-like names, real and made up, to compare keyless's region rules with botocore's.
fn candidates() -> Vec<String> {
    let mut prefixes: Vec<String> = [
        "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn", "xx", "zz", "eusc", "eusc-de",
        "eusc-fr", "us-gov", "us-iso", "us-isob", "us-isoe", "us-isof", "eu-isoe", "eu-iso",
    ]
    .map(String::from)
    .to_vec();
    for p in PARTITIONS {
        prefixes.extend(p.region_prefixes.iter().map(|s| s.to_string()));
    }
    let mut out = Vec::new();
    for p in &prefixes {
        for word in ["east", "west", "northeast", "central", "gov", "iso", "x1"] {
            for n in ["1", "2", "10", "", "a"] {
                out.push(format!("{p}-{word}-{n}"));
            }
        }
        out.push(p.clone());
    }
    out.extend(["", "us-east-1a", "US-EAST-1", "useast1", "-east-1"].map(String::from));
    out.sort();
    out.dedup();
    out
}

#[test]
fn partition_table_matches_botocore() {
    let data = botocore(&candidates());

    // The same partitions, with the same DNS suffixes.
    let theirs = data["partitions"].as_array().unwrap();
    let mut their_ids: Vec<&str> = theirs.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let mut our_ids: Vec<&str> = PARTITIONS.iter().map(|p| p.id).collect();
    their_ids.sort();
    our_ids.sort();
    assert_eq!(our_ids, their_ids, "keyless's partitions differ from botocore's");
    for t in theirs {
        let ours = partition::by_id(t["id"].as_str().unwrap()).unwrap();
        assert_eq!(ours.dns_suffix, t["dnsSuffix"], "{}", ours.id);
        assert_eq!(ours.dual_stack_dns_suffix, t["dualStackDnsSuffix"], "{}", ours.id);
        for r in t["regions"].as_array().unwrap() {
            let r = r.as_str().unwrap();
            assert_eq!(partition::of(r).map(|p| p.id), Some(ours.id), "region {r}");
        }
    }

    // Region names: keyless accepts exactly what botocore assigns to a partition.
    let mut compared = 0;
    for (name, id) in data["partitionOf"].as_object().unwrap() {
        assert_eq!(partition::of(name).map(|p| p.id), id.as_str(), "region name {name:?}");
        compared += 1;
    }
    assert!(compared > 500, "only {compared} region names compared");

    // Endpoints and signing regions, every region, every variant.
    let mut checked = 0;
    for e in data["endpoints"].as_array().unwrap() {
        let region = e["region"].as_str().unwrap();
        let v = Variant {
            fips: e["fips"].as_bool().unwrap(),
            dual_stack: e["dual"].as_bool().unwrap(),
        };
        let url = e["url"].as_str().unwrap();
        match e["service"].as_str().unwrap() {
            "sso-oidc" => assert_eq!(default_for(Service::SsoOidc, region, v), url, "{e}"),
            "sso" => assert_eq!(default_for(Service::Sso, region, v), url, "{e}"),
            "sts" => assert_eq!(default_for(Service::Sts, region, v), url, "{e}"),
            "iam" => {
                let (ours, signing) = partition::iam_endpoint(region, v);
                assert_eq!(ours, url, "{e}");
                assert_eq!(Some(signing), e["signingRegion"].as_str(), "{e}");
            }
            "signin" => {
                // The regional sign-in host is `<region>.<federation host>`.
                let host = url.strip_prefix(&format!("https://{region}.")).unwrap_or(url);
                assert_eq!(
                    default_for(Service::Signin, region, v),
                    format!("https://{host}"),
                    "{e}"
                );
                let p = partition::of(region).unwrap();
                assert_eq!(
                    p.console_host,
                    p.signin_host.replacen("signin.", "console.", 1),
                    "console host of {}",
                    p.id
                );
            }
            other => panic!("unexpected service {other}"),
        }
        checked += 1;
    }
    assert!(checked > 400, "only {checked} endpoints compared");

    // The older endpoints.json agrees on IAM's global endpoint and signing region.
    for (id, iam) in data["iamLegacy"].as_object().unwrap() {
        let p = partition::by_id(id).unwrap();
        assert_eq!(Some(p.iam.host), iam["host"].as_str(), "IAM host of {id}");
        assert_eq!(Some(p.iam.signing_region), iam["region"].as_str(), "IAM region of {id}");
    }
}

/// The AWS CLI's `/authorize` page lives on the resolved SSO-OIDC host: in China that is
/// `oidc.cn-north-1.amazonaws.com.cn`, and FIPS moves it with the API.
#[test]
fn authorize_host_follows_the_resolved_oidc_endpoint() {
    let url = |region: &str, v: Variant| {
        keyless::sso::login::authorize_url(
            &default_for(Service::SsoOidc, region, v),
            "cid",
            "http://127.0.0.1:1/oauth/callback",
            "s",
            &["sso:account:access".to_string()],
            "c",
        )
    };
    assert!(
        url("cn-north-1", Variant::default())
            .starts_with("https://oidc.cn-north-1.amazonaws.com.cn/authorize?")
    );
    assert!(
        url("us-east-1", Variant { fips: true, dual_stack: false })
            .starts_with("https://oidc-fips.us-east-1.amazonaws.com/authorize?")
    );
    assert!(
        url("eu-west-1", Variant { fips: false, dual_stack: true })
            .starts_with("https://oidc.eu-west-1.api.aws/authorize?")
    );
}
