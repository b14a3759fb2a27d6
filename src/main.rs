//! The `keyless` binary: parse, run, map the outcome to an exit code.

fn main() {
    std::process::exit(keyless::cli::main());
}
