//! Troubleshooting messages: team files, the local Identity Center, and the installer.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.
