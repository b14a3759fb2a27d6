//! Build-time tuning of the `keyless` binary.
//!
//! `credential-process` runs many times a day and most of its warm-path time is process
//! start-up, of which the dynamic loader applying ~38,000 relative relocations is the largest
//! part. Packed relative relocations (DT_RELR) make that table tiny. They need glibc 2.36 or
//! later at run time, so they are used only when building natively against such a glibc
//! (install.sh builds on the machine that runs the binary).
//!
//! The same relocations are also why the executable is linked position-dependent on Linux:
//! with DT_RELR the loader still writes all ~39,000 addresses at every start, half of a warm
//! call's instructions and 150 copy-on-write page faults (docs/performance.md). A
//! position-dependent executable has its addresses fixed at link time. It gives up
//! randomising where the executable itself is loaded (shared libraries, stack and heap stay
//! randomised), as most statically linked tools do; `KEYLESS_PIE=1` at build time keeps a
//! position-independent executable.

use std::path::Path;

fn glibc_supports_relr() -> bool {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
        "/usr/lib64/libc.so.6",
        "/usr/lib/libc.so.6",
        "/lib/libc.so.6",
    ]
    .iter()
    .map(Path::new)
    .filter_map(|p| std::fs::read(p).ok())
    .any(|bytes| bytes.windows(17).any(|w| w == b"GLIBC_ABI_DT_RELR"))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KEYLESS_PIE");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    if native
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && glibc_supports_relr()
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("KEYLESS_PIE") != "1"
    {
        // After rustc's own `-pie`: the last of the two wins.
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
