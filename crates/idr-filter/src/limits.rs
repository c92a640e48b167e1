//! Limits that IDR-QL and the GraphQL server share: what the language accepts must be
//! what the server accepts, so both read them from here.

/// How deeply a filter may nest (`all`, `any` and `not` count one level each).
pub const MAX_DEPTH: usize = 32;

/// How many conditions one filter may have.
pub const MAX_CONDITIONS: usize = 256;

/// How many clauses a filter may expand to when put in the engine's normal form; beyond,
/// the engine gets a coarser superset and the rest is checked on each hit.
pub const MAX_CLAUSES: usize = 64;

/// The most items one page of a connection may ask for (`first`).
pub const MAX_FIRST: usize = 100;

/// Items per page of a connection when `first` is not given.
pub const DEFAULT_FIRST: usize = 20;

/// The largest GraphQL document the server accepts, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

/// The most aliased fields one GraphQL document may have.
pub const MAX_ALIASES: usize = 30;
