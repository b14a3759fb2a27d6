//! Troubleshooting messages: endpoints, signing in and sessions, and the secure store.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.
