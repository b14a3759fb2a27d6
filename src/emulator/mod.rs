//! The local IAM Identity Center: SSO-OIDC, the SSO portal, STS and IAM on one loopback URL,
//! faithful enough that unmodified AWS SDKs accept it.
