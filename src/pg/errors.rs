//! duckstore errors as PostgreSQL ErrorResponses.

use pgwire::error::{ErrorInfo, PgWireError};

use crate::error::Error;

pub(super) fn to_pg(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e, "ERROR")))
}

/// An error that ends the connection (authentication, startup).
pub(super) fn fatal(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e, "FATAL")))
}

pub(super) fn error_info(e: &Error, severity: &str) -> ErrorInfo {
    let mut info = ErrorInfo::new(severity.to_owned(), e.sqlstate().to_owned(), e.message().to_owned());
    info.detail = e.detail().map(str::to_owned);
    info.hint = e.hint().map(str::to_owned);
    info
}
