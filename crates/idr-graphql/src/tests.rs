//! Schema tests.
