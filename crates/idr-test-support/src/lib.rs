//! Helpers shared by the workspace's tests: an HTTP server that replays the IDR recordings
//! or serves a generated IDR (with injectable faults), access to the recordings, a freshness check for generated
//! files, a checker of responses against the schema's promises, and the `<CURSOR>` marker
//! of completion tests.
//!
//! Nothing here is used outside tests; it depends on `idr-client` only for the recording
//! format and the request type.

mod files;
mod generated;
mod redis;
mod replay;
mod response;

pub use files::{check_file_fresh, fixtures_dir, load_fixtures, split_cursor, CURSOR};
pub use generated::{
    holds, jpeg, padded, row_label, Cell, Channel, Dataset, EngineFilter, FileAnnotation, Filter,
    Image, Kind, MapAnnotation, Op, Plate, Project, Scope, Screen, Settings, Size, Table,
    Vocabulary, Well, World,
};
pub use redis::Redis;
pub use replay::{
    Answer, CallSpan, FaultKind, Faults, ForcedStatus, Oversized, RandomFaults, Redirect,
    ReplayServer,
};
pub use response::{wrong_values, ResponseChecker};

#[cfg(test)]
mod tests;
