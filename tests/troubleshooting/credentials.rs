//! Troubleshooting messages: role credentials, locks, and the credentials endpoint.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.
