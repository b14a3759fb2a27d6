//! Process hardening at start: keyless holds SSO tokens, client secrets and role credentials in
//! memory, so a crash (release builds abort on panic) must not write them to a core file.
//!
//! On Unix the soft `RLIMIT_CORE` becomes 0 (the hard limit stays, so a command run by
//! `keyless exec` may raise it again with `ulimit -c`). On Linux the process is also marked
//! non-dumpable (`PR_SET_DUMPABLE` 0): no core dump even where the administrator's
//! `fs.suid_dumpable` or a core-dump handler would otherwise take one, and other processes of the
//! same user cannot attach a debugger or read its memory through `/proc`. The mark does not pass
//! to programs keyless starts (the kernel resets it on exec). Windows writes no dump of a crashed
//! user process unless an administrator configured Windows Error Reporting's `LocalDumps`.
//!
//! Three system calls; `credential-process` pays them on every call.

/// Applies the hardening; failures are ignored (a limit that cannot be lowered is no worse than
/// before, and must not stop a credential lookup).
pub fn no_core_dumps() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let hard = getrlimit(Resource::Core).maximum;
        let _ = setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: hard });
    }
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
