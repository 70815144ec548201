//! One error type for the whole server. Every module reports failures as an [`Error`] carrying
//! an [`ErrorKind`]; the Postgres front turns it into a SQLSTATE and the HTTP sidecar into a
//! status code, each in exactly one place (here).

use std::fmt;

/// What went wrong, independent of the surface that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    Gone,
    Unauthenticated,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    Cancelled,
    Unsupported,
    Internal,
}

impl ErrorKind {
    /// A short, bounded label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::Gone => "gone",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }

    /// The SQLSTATE used when the error does not name a more precise one.
    pub fn default_sqlstate(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "22023",
            ErrorKind::NotFound => "42704",
            ErrorKind::AlreadyExists => "42710",
            ErrorKind::Conflict => "40001",
            ErrorKind::FailedPrecondition => "55000",
            ErrorKind::Gone => "55000",
            ErrorKind::Unauthenticated => "28P01",
            ErrorKind::PermissionDenied => "42501",
            ErrorKind::ResourceExhausted => "53000",
            ErrorKind::Unavailable => "57P03",
            ErrorKind::Cancelled => "57014",
            ErrorKind::Unsupported => "0A000",
            ErrorKind::Internal => "XX000",
        }
    }

    /// The HTTP status the sidecar answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidArgument => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists | ErrorKind::Conflict => 409,
            ErrorKind::FailedPrecondition => 412,
            ErrorKind::Gone => 410,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::ResourceExhausted => 413,
            ErrorKind::Unavailable => 503,
            ErrorKind::Cancelled => 499,
            ErrorKind::Unsupported => 501,
            ErrorKind::Internal => 500,
        }
    }
}

/// An error with a kind, a message for people, and optionally a precise SQLSTATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    sqlstate: Option<&'static str>,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, sqlstate: None, message: message.into(), detail: None, hint: None }
    }

    /// Names the exact SQLSTATE, e.g. `42P01` for an unknown table.
    pub fn with_sqlstate(mut self, sqlstate: &'static str) -> Self {
        self.sqlstate = Some(sqlstate);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn sqlstate(&self) -> &'static str {
        self.sqlstate.unwrap_or_else(|| self.kind.default_sqlstate())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::AlreadyExists, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::PermissionDenied, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unauthenticated, message)
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::FailedPrecondition, message)
    }

    pub fn cancelled() -> Self {
        Error::new(ErrorKind::Cancelled, "canceling statement due to user request")
    }

    /// An internal failure. The cause is logged here; the client only sees a generic message,
    /// so paths and library internals never leak.
    pub fn internal(context: &str, cause: impl fmt::Display) -> Self {
        tracing::error!(context, cause = %cause, "internal error");
        Error::new(ErrorKind::Internal, format!("internal error while {context}; see the server log"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_sqlstate_wins_over_the_kind_default() {
        let e = Error::not_found("no table").with_sqlstate("42P01");
        assert_eq!(e.sqlstate(), "42P01");
        assert_eq!(Error::not_found("x").sqlstate(), "42704");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = Error::internal("opening the catalog", "/secret/path: permission denied");
        assert!(!e.message().contains("/secret"));
        assert_eq!(e.sqlstate(), "XX000");
        assert_eq!(e.kind().http_status(), 500);
    }
}
