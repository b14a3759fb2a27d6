//! "Who am I": credentials resolved the way the AWS SDK resolves them for a profile
//! (environment variables first, then the profile: credential_process, SSO, static keys,
//! role chaining), then STS GetCallerIdentity. The instance-metadata providers are left out
//! on purpose: a developer machine has none, and probing for them costs seconds.

use aws_config::BehaviorVersion;
use aws_config::Region;
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

use crate::error::Error;

/// The answer of GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Whether static credentials in the environment take precedence over any profile.
pub fn env_credentials_present() -> bool {
    std::env::var_os("AWS_ACCESS_KEY_ID").is_some_and(|v| !v.is_empty())
}

/// The SDK configuration for `profile`, without instance-metadata lookups.
pub async fn sdk_config(profile: &str) -> aws_config::SdkConfig {
    sdk_config_in(profile, None).await
}

/// Like [`sdk_config`], with `region` (from `--region`) taking precedence over the
/// environment and the profile's own region.
pub async fn sdk_config_in(profile: &str, region: Option<&str>) -> aws_config::SdkConfig {
    let creds = CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", ProfileFileCredentialsProvider::builder().profile_name(profile).build());
    let region = RegionProviderChain::first_try(region.map(|r| Region::new(r.to_string())))
        .or_else(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::builder().profile_name(profile).build())
        .or_else("us-east-1");
    aws_config::defaults(BehaviorVersion::latest())
        .profile_name(profile)
        .credentials_provider(creds)
        .region(region)
        .load()
        .await
}

/// Credentials for `profile`, as the SDK would resolve them, with the region from `region`
/// when given (else the SDK's own choice).
pub async fn credentials(
    profile: &str,
    region: Option<&str>,
) -> anyhow::Result<(Credentials, aws_config::SdkConfig)> {
    let config = sdk_config_in(profile, region).await;
    let provider =
        config.credentials_provider().ok_or_else(|| anyhow::anyhow!("no credentials provider"))?;
    let creds = provider.provide_credentials().await.map_err(|e| {
        // The provider's error chain carries the real reason (e.g. credential_process stderr).
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::user(format!("could not get credentials for profile `{profile}`: {msg}")).hint(
            format!("check `[profile {profile}]` in your AWS config, or run `keyless doctor`"),
        )
    })?;
    Ok((creds, config))
}

/// GetCallerIdentity with the SDK configuration of `profile`.
pub async fn for_profile_async(profile: &str) -> anyhow::Result<Identity> {
    for_profile_in(profile, None).await.map(|(id, _)| id)
}

/// GetCallerIdentity for `profile` in `region` (else the profile's region); also returns the
/// region the call went to.
pub async fn for_profile_in(
    profile: &str,
    region: Option<&str>,
) -> anyhow::Result<(Identity, String)> {
    let (_, config) = credentials(profile, region).await?;
    let used = config.region().map(|r| r.to_string()).unwrap_or_default();
    let id = caller_identity(&config).await.map_err(|e| {
        let msg = crate::error::find(&e).map_or_else(|| e.to_string(), |k| k.message.clone());
        anyhow::Error::from(
            Error::user(format!("profile `{profile}`: {msg}")).hint("run `keyless doctor`"),
        )
    })?;
    Ok((id, used))
}

/// GetCallerIdentity for `profile` (blocking).
pub fn for_profile(profile: &str) -> anyhow::Result<Identity> {
    crate::util::block_on(for_profile_async(profile))
}

/// GetCallerIdentity with an SDK configuration.
///
/// STS is reached at `AWS_ENDPOINT_URL_STS` or AWS's endpoint for the region, never at the
/// global `AWS_ENDPOINT_URL` (the request carries the session token).
pub async fn caller_identity(config: &aws_config::SdkConfig) -> anyhow::Result<Identity> {
    use crate::sso::endpoints::{self, Service};
    let region = config.region().map_or("us-east-1", |r| r.as_ref());
    let variant = crate::partition::Variant {
        fips: config.use_fips().unwrap_or(false),
        dual_stack: config.use_dual_stack().unwrap_or(false),
    };
    let endpoint = endpoints::resolve_with(Service::Sts, region, variant)?;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .app_name(crate::sso::clients::app_name())
            .endpoint_url(endpoint)
            .build(),
    );
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        Error::user(format!("STS GetCallerIdentity failed: {}", crate::sso::clients::describe(&e)))
    })?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
        user_id: out.user_id().unwrap_or_default().to_string(),
    })
}
