//! Troubleshooting messages: the console, AWS config files, and key migration.
//! Each case runs keyless as a user would and checks the text the user sees, its fix and the
//! exit code.
