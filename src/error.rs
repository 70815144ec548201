//! One error type for the whole server. Every module reports failures as an [`Error`] carrying
//! an [`ErrorKind`]; the Postgres front turns it into a SQLSTATE and the HTTP sidecar into a
//! status code, each in exactly one place (here).

use std::fmt;

/// What went wrong, independent of the surface that reports it. It follows from the error's
/// [`SqlState`] (one source of truth), so the two never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Conflict,
    FailedPrecondition,
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
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }

    /// The SQLSTATE of an error that names only its kind.
    pub fn default_state(self) -> SqlState {
        match self {
            ErrorKind::InvalidArgument => SqlState::InvalidParameterValue,
            ErrorKind::NotFound => SqlState::UndefinedObject,
            ErrorKind::AlreadyExists => SqlState::DuplicateObject,
            ErrorKind::Conflict => SqlState::SerializationFailure,
            ErrorKind::FailedPrecondition => SqlState::ObjectNotInPrerequisiteState,
            ErrorKind::Unauthenticated => SqlState::InvalidPassword,
            ErrorKind::PermissionDenied => SqlState::InsufficientPrivilege,
            ErrorKind::ResourceExhausted => SqlState::InsufficientResources,
            ErrorKind::Unavailable => SqlState::CannotConnectNow,
            ErrorKind::Cancelled => SqlState::QueryCanceled,
            ErrorKind::Unsupported => SqlState::FeatureNotSupported,
            ErrorKind::Internal => SqlState::InternalError,
        }
    }

    /// The HTTP status the sidecar answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidArgument => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists | ErrorKind::Conflict => 409,
            ErrorKind::FailedPrecondition => 412,
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

/// The PostgreSQL error codes duckstore answers with (PostgreSQL's condition names, appendix A of
/// its manual). An error's [`ErrorKind`] follows from its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    /// `0A000`
    FeatureNotSupported,
    /// `08P01`
    ProtocolViolation,
    /// `22000`
    DataException,
    /// `22003`
    NumericValueOutOfRange,
    /// `22004`
    NullValueNotAllowed,
    /// `22012`
    DivisionByZero,
    /// `22021`
    CharacterNotInRepertoire,
    /// `22023`
    InvalidParameterValue,
    /// `22001`
    StringDataRightTruncation,
    /// `22P02`
    InvalidTextRepresentation,
    /// `22P04`
    BadCopyFileFormat,
    /// `23502`
    NotNullViolation,
    /// `23505`
    UniqueViolation,
    /// `23514`
    CheckViolation,
    /// `25001`
    ActiveSqlTransaction,
    NoActiveSqlTransaction,
    /// `25006`
    ReadOnlySqlTransaction,
    /// `25P02`
    InFailedSqlTransaction,
    /// `28000`
    InvalidAuthorizationSpecification,
    /// `28P01`
    InvalidPassword,
    /// `2BP01`
    DependentObjectsStillExist,
    /// `3B001`
    InvalidSavepointSpecification,
    /// `3D000`
    InvalidCatalogName,
    /// `3F000`
    InvalidSchemaName,
    /// `40001`
    SerializationFailure,
    /// `42939`
    ReservedName,
    /// `40P01`
    DeadlockDetected,
    /// `42501`
    InsufficientPrivilege,
    /// `42601`
    SyntaxError,
    /// `42602`
    InvalidName,
    /// `42701`
    DuplicateColumn,
    /// `42703`
    UndefinedColumn,
    /// `42704`
    UndefinedObject,
    /// `42710`
    DuplicateObject,
    /// `42809`
    WrongObjectType,
    /// `42883`
    UndefinedFunction,
    /// `42P01`
    UndefinedTable,
    InvalidCursorName,
    /// `42P02`
    UndefinedParameter,
    /// `42P06`
    DuplicateSchema,
    /// `42P07`
    DuplicateTable,
    DuplicateCursor,
    /// `42P05`
    DuplicatePreparedStatement,
    /// `42P16`
    InvalidTableDefinition,
    /// `42P17`
    InvalidObjectDefinition,
    /// `42P18`
    IndeterminateDatatype,
    /// `53000`
    InsufficientResources,
    /// `53100`
    DiskFull,
    /// `53200`
    OutOfMemory,
    /// `53300`
    TooManyConnections,
    /// `53400`
    ConfigurationLimitExceeded,
    /// `54000`
    ProgramLimitExceeded,
    /// `54001`
    StatementTooComplex,
    /// `55000`
    ObjectNotInPrerequisiteState,
    /// `55P02`
    CantChangeRuntimeParam,
    /// `57014`
    QueryCanceled,
    /// `57P01`
    AdminShutdown,
    /// `57P03`
    CannotConnectNow,
    /// `58030`
    IoError,
    /// `58P01`
    UndefinedFile,
    /// `21000`
    CardinalityViolation,
    /// `22007`
    InvalidDatetimeFormat,
    /// `22008`
    DatetimeFieldOverflow,
    /// `22011`
    SubstringError,
    /// `2202E`
    ArraySubscriptError,
    /// `2201G`
    InvalidArgumentForWidthBucketFunction,
    /// `2201B`
    InvalidRegularExpression,
    /// `2201E`
    InvalidArgumentForLogarithm,
    /// `2201F`
    InvalidArgumentForPowerFunction,
    /// `2201W`
    InvalidRowCountInLimitClause,
    /// `2201X`
    InvalidRowCountInResultOffsetClause,
    /// `22025`
    InvalidEscapeSequence,
    /// `26000`
    InvalidSqlStatementName,
    /// `42702`
    AmbiguousColumn,
    /// `42712`
    DuplicateAlias,
    /// `42803`
    GroupingError,
    /// `42804`
    DatatypeMismatch,
    /// `42P10`
    InvalidColumnReference,
    /// `42P19`
    InvalidRecursion,
    /// `42P20`
    WindowingError,
    /// `XX000`
    InternalError,
}

impl SqlState {
    pub const ALL: &'static [SqlState] = &[
        SqlState::FeatureNotSupported,
        SqlState::ProtocolViolation,
        SqlState::DataException,
        SqlState::NumericValueOutOfRange,
        SqlState::NullValueNotAllowed,
        SqlState::DivisionByZero,
        SqlState::CharacterNotInRepertoire,
        SqlState::InvalidParameterValue,
        SqlState::StringDataRightTruncation,
        SqlState::InvalidTextRepresentation,
        SqlState::BadCopyFileFormat,
        SqlState::NotNullViolation,
        SqlState::UniqueViolation,
        SqlState::CheckViolation,
        SqlState::ActiveSqlTransaction,
        SqlState::NoActiveSqlTransaction,
        SqlState::ReadOnlySqlTransaction,
        SqlState::InFailedSqlTransaction,
        SqlState::InvalidAuthorizationSpecification,
        SqlState::InvalidPassword,
        SqlState::DependentObjectsStillExist,
        SqlState::InvalidSavepointSpecification,
        SqlState::InvalidCatalogName,
        SqlState::InvalidSchemaName,
        SqlState::SerializationFailure,
        SqlState::ReservedName,
        SqlState::DeadlockDetected,
        SqlState::InsufficientPrivilege,
        SqlState::SyntaxError,
        SqlState::InvalidName,
        SqlState::DuplicateColumn,
        SqlState::UndefinedColumn,
        SqlState::UndefinedObject,
        SqlState::DuplicateObject,
        SqlState::WrongObjectType,
        SqlState::UndefinedFunction,
        SqlState::UndefinedTable,
        SqlState::InvalidCursorName,
        SqlState::UndefinedParameter,
        SqlState::DuplicateSchema,
        SqlState::DuplicateTable,
        SqlState::DuplicateCursor,
        SqlState::DuplicatePreparedStatement,
        SqlState::InvalidTableDefinition,
        SqlState::InvalidObjectDefinition,
        SqlState::IndeterminateDatatype,
        SqlState::InsufficientResources,
        SqlState::DiskFull,
        SqlState::OutOfMemory,
        SqlState::TooManyConnections,
        SqlState::ConfigurationLimitExceeded,
        SqlState::ProgramLimitExceeded,
        SqlState::StatementTooComplex,
        SqlState::ObjectNotInPrerequisiteState,
        SqlState::CantChangeRuntimeParam,
        SqlState::QueryCanceled,
        SqlState::AdminShutdown,
        SqlState::CannotConnectNow,
        SqlState::IoError,
        SqlState::UndefinedFile,
        SqlState::CardinalityViolation,
        SqlState::InvalidDatetimeFormat,
        SqlState::DatetimeFieldOverflow,
        SqlState::SubstringError,
        SqlState::ArraySubscriptError,
        SqlState::InvalidArgumentForWidthBucketFunction,
        SqlState::InvalidRegularExpression,
        SqlState::InvalidArgumentForLogarithm,
        SqlState::InvalidArgumentForPowerFunction,
        SqlState::InvalidRowCountInLimitClause,
        SqlState::InvalidRowCountInResultOffsetClause,
        SqlState::InvalidEscapeSequence,
        SqlState::InvalidSqlStatementName,
        SqlState::AmbiguousColumn,
        SqlState::DuplicateAlias,
        SqlState::GroupingError,
        SqlState::DatatypeMismatch,
        SqlState::InvalidColumnReference,
        SqlState::InvalidRecursion,
        SqlState::WindowingError,
        SqlState::InternalError,
    ];

    /// The five-character code sent to clients.
    pub fn code(self) -> &'static str {
        match self {
            SqlState::FeatureNotSupported => "0A000",
            SqlState::ProtocolViolation => "08P01",
            SqlState::DataException => "22000",
            SqlState::NumericValueOutOfRange => "22003",
            SqlState::NullValueNotAllowed => "22004",
            SqlState::DivisionByZero => "22012",
            SqlState::CharacterNotInRepertoire => "22021",
            SqlState::InvalidParameterValue => "22023",
            SqlState::InvalidTextRepresentation => "22P02",
            SqlState::BadCopyFileFormat => "22P04",
            SqlState::NotNullViolation => "23502",
            SqlState::UniqueViolation => "23505",
            SqlState::CheckViolation => "23514",
            SqlState::StringDataRightTruncation => "22001",
            SqlState::ActiveSqlTransaction => "25001",
            SqlState::NoActiveSqlTransaction => "25P01",
            SqlState::ReadOnlySqlTransaction => "25006",
            SqlState::InFailedSqlTransaction => "25P02",
            SqlState::InvalidAuthorizationSpecification => "28000",
            SqlState::InvalidPassword => "28P01",
            SqlState::DependentObjectsStillExist => "2BP01",
            SqlState::InvalidSavepointSpecification => "3B001",
            SqlState::InvalidCatalogName => "3D000",
            SqlState::InvalidSchemaName => "3F000",
            SqlState::SerializationFailure => "40001",
            SqlState::ReservedName => "42939",
            SqlState::DeadlockDetected => "40P01",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::SyntaxError => "42601",
            SqlState::InvalidName => "42602",
            SqlState::DuplicateColumn => "42701",
            SqlState::UndefinedColumn => "42703",
            SqlState::UndefinedObject => "42704",
            SqlState::DuplicateObject => "42710",
            SqlState::WrongObjectType => "42809",
            SqlState::UndefinedFunction => "42883",
            SqlState::UndefinedTable => "42P01",
            SqlState::InvalidCursorName => "34000",
            SqlState::UndefinedParameter => "42P02",
            SqlState::DuplicateSchema => "42P06",
            SqlState::DuplicateTable => "42P07",
            SqlState::DuplicateCursor => "42P03",
            SqlState::DuplicatePreparedStatement => "42P05",
            SqlState::InvalidTableDefinition => "42P16",
            SqlState::InvalidObjectDefinition => "42P17",
            SqlState::IndeterminateDatatype => "42P18",
            SqlState::InsufficientResources => "53000",
            SqlState::DiskFull => "53100",
            SqlState::OutOfMemory => "53200",
            SqlState::TooManyConnections => "53300",
            SqlState::ConfigurationLimitExceeded => "53400",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::StatementTooComplex => "54001",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::CantChangeRuntimeParam => "55P02",
            SqlState::QueryCanceled => "57014",
            SqlState::AdminShutdown => "57P01",
            SqlState::CannotConnectNow => "57P03",
            SqlState::IoError => "58030",
            SqlState::UndefinedFile => "58P01",
            SqlState::InternalError => "XX000",
            SqlState::CardinalityViolation => "21000",
            SqlState::InvalidDatetimeFormat => "22007",
            SqlState::DatetimeFieldOverflow => "22008",
            SqlState::SubstringError => "22011",
            SqlState::ArraySubscriptError => "2202E",
            SqlState::InvalidArgumentForWidthBucketFunction => "2201G",
            SqlState::InvalidRegularExpression => "2201B",
            SqlState::InvalidArgumentForLogarithm => "2201E",
            SqlState::InvalidArgumentForPowerFunction => "2201F",
            SqlState::InvalidRowCountInLimitClause => "2201W",
            SqlState::InvalidRowCountInResultOffsetClause => "2201X",
            SqlState::InvalidEscapeSequence => "22025",
            SqlState::InvalidSqlStatementName => "26000",
            SqlState::AmbiguousColumn => "42702",
            SqlState::DuplicateAlias => "42712",
            SqlState::GroupingError => "42803",
            SqlState::DatatypeMismatch => "42804",
            SqlState::InvalidColumnReference => "42P10",
            SqlState::InvalidRecursion => "42P19",
            SqlState::WindowingError => "42P20",
        }
    }

    pub fn kind(self) -> ErrorKind {
        match self {
            SqlState::FeatureNotSupported => ErrorKind::Unsupported,
            SqlState::ProtocolViolation
            | SqlState::DataException
            | SqlState::NumericValueOutOfRange
            | SqlState::NullValueNotAllowed
            | SqlState::DivisionByZero
            | SqlState::CharacterNotInRepertoire
            | SqlState::InvalidParameterValue
            | SqlState::InvalidTextRepresentation
            | SqlState::StringDataRightTruncation
            | SqlState::BadCopyFileFormat
            | SqlState::NotNullViolation
            | SqlState::CheckViolation
            | SqlState::SyntaxError
            | SqlState::InvalidName
            | SqlState::ReservedName
            | SqlState::WrongObjectType
            | SqlState::UndefinedParameter
            | SqlState::InvalidTableDefinition
            | SqlState::InvalidObjectDefinition
            | SqlState::CardinalityViolation
            | SqlState::InvalidDatetimeFormat
            | SqlState::DatetimeFieldOverflow
            | SqlState::SubstringError
            | SqlState::ArraySubscriptError
            | SqlState::InvalidArgumentForWidthBucketFunction
            | SqlState::InvalidRegularExpression
            | SqlState::InvalidArgumentForLogarithm
            | SqlState::InvalidArgumentForPowerFunction
            | SqlState::InvalidRowCountInLimitClause
            | SqlState::InvalidRowCountInResultOffsetClause
            | SqlState::InvalidEscapeSequence
            | SqlState::AmbiguousColumn
            | SqlState::DuplicateAlias
            | SqlState::GroupingError
            | SqlState::DatatypeMismatch
            | SqlState::InvalidColumnReference
            | SqlState::InvalidRecursion
            | SqlState::WindowingError
            | SqlState::IndeterminateDatatype => ErrorKind::InvalidArgument,
            SqlState::UniqueViolation | SqlState::SerializationFailure | SqlState::DeadlockDetected => {
                ErrorKind::Conflict
            }
            SqlState::ActiveSqlTransaction
            | SqlState::NoActiveSqlTransaction
            | SqlState::InFailedSqlTransaction
            | SqlState::ReadOnlySqlTransaction
            | SqlState::DependentObjectsStillExist
            | SqlState::ObjectNotInPrerequisiteState
            | SqlState::CantChangeRuntimeParam => ErrorKind::FailedPrecondition,
            SqlState::InvalidAuthorizationSpecification | SqlState::InvalidPassword => ErrorKind::Unauthenticated,
            SqlState::InvalidCatalogName
            | SqlState::InvalidSavepointSpecification
            | SqlState::InvalidSchemaName
            | SqlState::UndefinedColumn
            | SqlState::UndefinedObject
            | SqlState::UndefinedFunction
            | SqlState::UndefinedTable
            | SqlState::InvalidCursorName
            | SqlState::InvalidSqlStatementName
            | SqlState::UndefinedFile => ErrorKind::NotFound,
            SqlState::InsufficientPrivilege => ErrorKind::PermissionDenied,
            SqlState::DuplicateColumn
            | SqlState::DuplicateObject
            | SqlState::DuplicateSchema
            | SqlState::DuplicateTable
            | SqlState::DuplicateCursor
            | SqlState::DuplicatePreparedStatement => ErrorKind::AlreadyExists,
            SqlState::InsufficientResources
            | SqlState::DiskFull
            | SqlState::OutOfMemory
            | SqlState::TooManyConnections
            | SqlState::ConfigurationLimitExceeded
            | SqlState::ProgramLimitExceeded
            | SqlState::StatementTooComplex => ErrorKind::ResourceExhausted,
            SqlState::QueryCanceled => ErrorKind::Cancelled,
            SqlState::AdminShutdown | SqlState::CannotConnectNow | SqlState::IoError => ErrorKind::Unavailable,
            SqlState::InternalError => ErrorKind::Internal,
        }
    }

    /// The state with this code, if duckstore answers with it.
    pub fn from_code(code: &str) -> Option<SqlState> {
        SqlState::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// Why an internal error happened: kept for the server's log and for callers that inspect the
/// chain (`std::error::Error::source`), never sent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(String);

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

/// An error with a SQLSTATE (and so a kind), a message for people, and what caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    state: SqlState,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    cause: Option<Cause>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error that names only its kind; its SQLSTATE is the kind's default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::sql(kind.default_state(), message)
    }

    /// An error with an exact SQLSTATE.
    pub fn sql(state: SqlState, message: impl Into<String>) -> Self {
        Error { state, message: message.into(), detail: None, hint: None, cause: None }
    }

    /// Names the exact SQLSTATE, e.g. [`SqlState::UndefinedTable`]; the kind follows from it.
    pub fn with_sqlstate(mut self, state: SqlState) -> Self {
        self.state = state;
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
        self.state.kind()
    }

    pub fn state(&self) -> SqlState {
        self.state
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

    /// The SQLSTATE's five-character code.
    pub fn sqlstate(&self) -> &'static str {
        self.state.code()
    }

    /// What caused an internal error (server-side only).
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_ref().map(|c| c.0.as_str())
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
        Error::sql(SqlState::QueryCanceled, "canceling statement due to user request")
    }

    /// An internal failure. The cause is logged here and kept on the error; the client only
    /// sees a generic message, so paths and library internals never leak.
    pub fn internal(context: &str, cause: impl fmt::Display) -> Self {
        let cause = cause.to_string();
        tracing::error!(context, cause = %cause, "internal error");
        Error {
            cause: Some(Cause(cause)),
            ..Error::sql(SqlState::InternalError, format!("internal error while {context}; see the server log"))
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_sqlstate_wins_over_the_kind_default() {
        let e = Error::not_found("no table").with_sqlstate(SqlState::UndefinedTable);
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

    #[test]
    fn internal_errors_keep_their_cause_for_the_server() {
        let e = Error::internal("opening the catalog", "disk on fire");
        assert_eq!(e.cause(), Some("disk on fire"));
        assert_eq!(std::error::Error::source(&e).map(|c| c.to_string()).as_deref(), Some("disk on fire"));
    }

    #[test]
    fn every_state_has_a_distinct_code_and_the_kind_follows_from_it() {
        let mut codes: Vec<_> = SqlState::ALL.iter().map(|s| s.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), SqlState::ALL.len());
        for state in SqlState::ALL {
            assert_eq!(state.code().len(), 5);
            assert_eq!(SqlState::from_code(state.code()), Some(*state));
            assert_eq!(Error::sql(*state, "x").kind(), state.kind());
        }
        for kind in SqlState::ALL.iter().map(|s| s.kind()) {
            assert_eq!(kind.default_state().kind(), kind, "{kind:?}");
        }
    }
}
