//! Error kinds, their exit codes, and how an error is shown to a person.
//!
//! Code anywhere in the crate returns `anyhow::Result`; an [`Error`] somewhere in the chain
//! decides the exit code and carries the hint that says what to do next. Anything else is an
//! internal failure.

use std::fmt;

/// What kind of failure this is, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something the user can fix: not signed in, expired, bad input, unreachable endpoint.
    User,
    /// The command line itself is wrong.
    Usage,
    /// A bug or an environment failure keyless cannot explain.
    Internal,
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::User => 1,
            Kind::Usage => 2,
            Kind::Internal => 3,
        }
    }
}

/// A failure with a kind and, usually, a hint that names the next step.
///
/// Messages must never contain a secret: they end up on stderr and in CI logs.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// Set when the way out is to sign in to this SSO session again (expired, revoked, never
    /// signed in): `--login-if-needed` acts on this, never on the wording of a message.
    pub sign_in: Option<String>,
}

impl Error {
    pub fn user(message: impl Into<String>) -> Self {
        Error { kind: Kind::User, message: message.into(), hint: None, sign_in: None }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error { kind: Kind::Usage, message: message.into(), hint: None, sign_in: None }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error { kind: Kind::Internal, message: message.into(), hint: None, sign_in: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Marks the error as "sign in to `session` again".
    pub fn needs_sign_in(mut self, session: impl Into<String>) -> Self {
        self.sign_in = Some(session.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand: `Err(user("..."))?` style constructors returning `anyhow::Error`.
pub fn user(message: impl Into<String>) -> anyhow::Error {
    Error::user(message).into()
}

/// The first keyless [`Error`] in the chain, if any.
pub fn find(err: &anyhow::Error) -> Option<&Error> {
    err.chain().find_map(|e| e.downcast_ref::<Error>())
}

/// Exit code for an error: the kind of the first keyless [`Error`] in its chain, else internal.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    find(err).map_or(Kind::Internal.exit_code(), |e| e.kind.exit_code())
}

/// Renders an error as `error: ...`, then each cause, then the hint (if any).
pub fn render(err: &anyhow::Error) -> String {
    let mut out = format!("error: {err}");
    for cause in err.chain().skip(1) {
        out.push_str(&format!("\n  caused by: {cause}"));
    }
    if let Some(hint) = find(err).and_then(|e| e.hint.as_deref()) {
        out.push_str(&format!("\nhint: {hint}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn exit_code_comes_from_the_first_keyless_error_in_the_chain() {
        let err = anyhow::Error::from(Error::user("not signed in").hint("run `keyless login`"))
            .context("getting role credentials");
        assert_eq!(exit_code(&err), 1);
        let rendered = render(&err);
        assert_eq!(
            rendered,
            "error: getting role credentials\n  caused by: not signed in\nhint: run `keyless login`"
        );
        let plain: anyhow::Result<()> = Err(anyhow::anyhow!("boom")).context("x");
        assert_eq!(exit_code(&plain.unwrap_err()), 3);
    }
}
