//! AWS partitions, in one table: which regions belong to which partition, and where each
//! service keyless talks to lives there (SSO-OIDC and its `/authorize` page, the access
//! portal, STS, IAM with its signing region, the console sign-in and console hosts).
//!
//! The values come from AWS's own endpoint data (botocore's `partitions.json`, `endpoints.json`
//! and the services' `endpoint-rule-set-1.json`); `tests/partitions.rs` checks this table
//! against that data, so it cannot drift. Nothing else in keyless spells an AWS host name.

/// One AWS partition.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub id: &'static str,
    /// A region of this partition is `<prefix>-<word>-<number>` for one of these prefixes
    /// (botocore's `regionRegex`).
    pub region_prefixes: &'static [&'static str],
    pub dns_suffix: &'static str,
    pub dual_stack_dns_suffix: &'static str,
    /// IAM's host and the region IAM requests are signed for (IAM is global per partition).
    pub iam: Iam,
    /// The console federation endpoint's host (`/federation`).
    pub signin_host: &'static str,
    /// The AWS Management Console's host.
    pub console_host: &'static str,
}

/// IAM in one partition: one global endpoint, signed for one region.
#[derive(Debug, PartialEq, Eq)]
pub struct Iam {
    pub host: &'static str,
    pub fips_host: &'static str,
    pub fips_dual_stack_host: &'static str,
    pub dual_stack_host: &'static str,
    pub signing_region: &'static str,
}

/// Every current partition, in the order AWS matches region names against them.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        region_prefixes: &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"],
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        iam: Iam {
            host: "iam.amazonaws.com",
            fips_host: "iam-fips.amazonaws.com",
            fips_dual_stack_host: "iam-fips.global.api.aws",
            dual_stack_host: "iam.global.api.aws",
            signing_region: "us-east-1",
        },
        signin_host: "signin.aws.amazon.com",
        console_host: "console.aws.amazon.com",
    },
    Partition {
        id: "aws-cn",
        region_prefixes: &["cn"],
        dns_suffix: "amazonaws.com.cn",
        dual_stack_dns_suffix: "api.amazonwebservices.com.cn",
        iam: Iam {
            host: "iam.cn-north-1.amazonaws.com.cn",
            fips_host: "iam-fips.amazonaws.com.cn",
            fips_dual_stack_host: "iam-fips.api.amazonwebservices.com.cn",
            dual_stack_host: "iam.global.api.amazonwebservices.com.cn",
            signing_region: "cn-north-1",
        },
        signin_host: "signin.amazonaws.cn",
        console_host: "console.amazonaws.cn",
    },
    Partition {
        id: "aws-eusc",
        region_prefixes: &["eusc-de"],
        dns_suffix: "amazonaws.eu",
        dual_stack_dns_suffix: "api.amazonwebservices.eu",
        iam: Iam {
            host: "iam.eusc-de-east-1.amazonaws.eu",
            fips_host: "iam-fips.amazonaws.eu",
            fips_dual_stack_host: "iam-fips.api.amazonwebservices.eu",
            dual_stack_host: "iam.global.api.amazonwebservices.eu",
            signing_region: "eusc-de-east-1",
        },
        signin_host: "signin.amazonaws-eusc.eu",
        console_host: "console.amazonaws-eusc.eu",
    },
    Partition {
        id: "aws-iso",
        region_prefixes: &["us-iso"],
        dns_suffix: "c2s.ic.gov",
        dual_stack_dns_suffix: "api.aws.ic.gov",
        iam: Iam {
            host: "iam.us-iso-east-1.c2s.ic.gov",
            fips_host: "iam-fips.us-iso-east-1.c2s.ic.gov",
            fips_dual_stack_host: "iam-fips.api.aws.ic.gov",
            dual_stack_host: "iam.api.aws.ic.gov",
            signing_region: "us-iso-east-1",
        },
        signin_host: "signin.c2shome.ic.gov",
        console_host: "console.c2shome.ic.gov",
    },
    Partition {
        id: "aws-iso-b",
        region_prefixes: &["us-isob"],
        dns_suffix: "sc2s.sgov.gov",
        dual_stack_dns_suffix: "api.aws.scloud",
        iam: Iam {
            host: "iam.us-isob-east-1.sc2s.sgov.gov",
            fips_host: "iam-fips.us-isob-east-1.sc2s.sgov.gov",
            fips_dual_stack_host: "iam-fips.api.aws.scloud",
            dual_stack_host: "iam.api.aws.scloud",
            signing_region: "us-isob-east-1",
        },
        signin_host: "signin.sc2shome.sgov.gov",
        console_host: "console.sc2shome.sgov.gov",
    },
    Partition {
        id: "aws-iso-e",
        region_prefixes: &["eu-isoe"],
        dns_suffix: "cloud.adc-e.uk",
        dual_stack_dns_suffix: "api.cloud-aws.adc-e.uk",
        iam: Iam {
            host: "iam.eu-isoe-west-1.cloud.adc-e.uk",
            fips_host: "iam-fips.cloud.adc-e.uk",
            fips_dual_stack_host: "iam-fips.api.cloud-aws.adc-e.uk",
            dual_stack_host: "iam.api.cloud-aws.adc-e.uk",
            signing_region: "eu-isoe-west-1",
        },
        signin_host: "signin.csphome.adc-e.uk",
        console_host: "console.csphome.adc-e.uk",
    },
    Partition {
        id: "aws-iso-f",
        region_prefixes: &["us-isof"],
        dns_suffix: "csp.hci.ic.gov",
        dual_stack_dns_suffix: "api.aws.hci.ic.gov",
        iam: Iam {
            host: "iam.us-isof-south-1.csp.hci.ic.gov",
            fips_host: "iam-fips.csp.hci.ic.gov",
            fips_dual_stack_host: "iam-fips.api.aws.hci.ic.gov",
            dual_stack_host: "iam.api.aws.hci.ic.gov",
            signing_region: "us-isof-south-1",
        },
        signin_host: "signin.csphome.hci.ic.gov",
        console_host: "console.csphome.hci.ic.gov",
    },
    Partition {
        id: "aws-us-gov",
        region_prefixes: &["us-gov"],
        dns_suffix: "amazonaws.com",
        dual_stack_dns_suffix: "api.aws",
        iam: Iam {
            host: "iam.us-gov.amazonaws.com",
            fips_host: "iam.us-gov.amazonaws.com",
            fips_dual_stack_host: "iam.us-gov.api.aws",
            dual_stack_host: "iam.us-gov.api.aws",
            signing_region: "us-gov-west-1",
        },
        signin_host: "signin.amazonaws-us-gov.com",
        console_host: "console.amazonaws-us-gov.com",
    },
];

/// `<word>-<number>` after a partition's prefix: `east-1`, `northeast-2`.
fn is_rest(rest: &str) -> bool {
    let Some((word, number)) = rest.split_once('-') else { return false };
    !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

impl Partition {
    /// Whether `region` is a region name of this partition.
    pub fn has_region(&self, region: &str) -> bool {
        self.region_prefixes
            .iter()
            .any(|p| region.strip_prefix(p).and_then(|r| r.strip_prefix('-')).is_some_and(is_rest))
    }

    /// `https://<service>.<region>.<suffix>` in the variant's form, as AWS's endpoint rules
    /// build it for SSO-OIDC, the portal and STS.
    fn regional(&self, service: Regional, region: &str, v: Variant) -> String {
        let (plain, fips) = match service {
            Regional::SsoOidc => ("oidc", "oidc-fips"),
            Regional::Portal => ("portal.sso", "portal.sso-fips"),
            Regional::Sts => ("sts", "sts-fips"),
        };
        match (v.fips, v.dual_stack) {
            (true, true) => format!("https://{fips}.{region}.{}", self.dual_stack_dns_suffix),
            // GovCloud's regular endpoints are FIPS endpoints already.
            (true, false) if self.id == "aws-us-gov" => {
                format!("https://{plain}.{region}.amazonaws.com")
            }
            (true, false) => format!("https://{fips}.{region}.{}", self.dns_suffix),
            (false, true) => format!("https://{plain}.{region}.{}", self.dual_stack_dns_suffix),
            (false, false) => format!("https://{plain}.{region}.{}", self.dns_suffix),
        }
    }
}

/// The partition of `region`, if it is a region name at all.
pub fn of(region: &str) -> Option<&'static Partition> {
    PARTITIONS.iter().find(|p| p.has_region(region))
}

/// The partition named `id` (`aws-cn`, as in an ARN).
pub fn by_id(id: &str) -> Option<&'static Partition> {
    PARTITIONS.iter().find(|p| p.id == id)
}

/// The partition of `region`, or the commercial one (what AWS's endpoint rules do with a
/// region name they do not know).
pub fn of_or_default(region: &str) -> &'static Partition {
    of(region).unwrap_or(&PARTITIONS[0])
}

/// Whether `s` is a region name of any current partition.
pub fn is_region(s: &str) -> bool {
    of(s).is_some()
}

/// Endpoint variants: `AWS_USE_FIPS_ENDPOINT` / `use_fips_endpoint` and
/// `AWS_USE_DUALSTACK_ENDPOINT` / `use_dualstack_endpoint`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    pub fips: bool,
    pub dual_stack: bool,
}

/// The services with a regional endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regional {
    SsoOidc,
    Portal,
    Sts,
}

/// The default endpoint of a regional service.
pub fn regional_endpoint(service: Regional, region: &str, v: Variant) -> String {
    of_or_default(region).regional(service, region, v)
}

/// IAM's endpoint for the partition of `region`, and the region its requests are signed for.
pub fn iam_endpoint(region: &str, v: Variant) -> (String, &'static str) {
    let iam = &of_or_default(region).iam;
    let host = match (v.fips, v.dual_stack) {
        (true, true) => iam.fips_dual_stack_host,
        (true, false) => iam.fips_host,
        (false, true) => iam.dual_stack_host,
        (false, false) => iam.host,
    };
    (format!("https://{host}"), iam.signing_region)
}

/// The console federation endpoint's base URL for the partition of `region`.
pub fn signin_endpoint(region: &str) -> String {
    format!("https://{}", of_or_default(region).signin_host)
}

/// The AWS Management Console's home for the partition of `region`.
pub fn console_url(region: &str) -> String {
    format!("https://{}/", of_or_default(region).console_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_every_partition_are_recognised() {
        for (region, id) in [
            ("us-east-1", "aws"),
            ("ap-northeast-2", "aws"),
            ("mx-central-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("eusc-de-east-1", "aws-eusc"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(of(region).map(|p| p.id), Some(id), "{region}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-1a", "", "u-east-1", "xx-east-1"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn china_and_govcloud_endpoints() {
        let v = Variant::default();
        assert_eq!(
            regional_endpoint(Regional::SsoOidc, "cn-north-1", v),
            "https://oidc.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            iam_endpoint("cn-northwest-1", v),
            ("https://iam.cn-north-1.amazonaws.com.cn".into(), "cn-north-1")
        );
        assert_eq!(
            iam_endpoint("us-gov-east-1", v),
            ("https://iam.us-gov.amazonaws.com".into(), "us-gov-west-1")
        );
        assert_eq!(signin_endpoint("us-gov-east-1"), "https://signin.amazonaws-us-gov.com");
        assert_eq!(console_url("cn-north-1"), "https://console.amazonaws.cn/");
    }

    #[test]
    fn fips_and_dual_stack_change_the_hosts() {
        let fips = Variant { fips: true, dual_stack: false };
        let dual = Variant { fips: false, dual_stack: true };
        assert_eq!(
            regional_endpoint(Regional::SsoOidc, "us-east-1", fips),
            "https://oidc-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            regional_endpoint(Regional::Portal, "us-east-1", dual),
            "https://portal.sso.us-east-1.api.aws"
        );
    }
}
