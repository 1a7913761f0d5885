//! Path templates: the normalization rules of contract §3.1, shared by spec ingestion, catalog
//! references (`op: GET /a/{x}`) and the bundle writer.
//!
//! Normalized form: starts with `/`, no trailing slash (root stays `/`), no query, every parameter
//! written `{}` (names dropped), at most one parameter per segment, e.g. `/Accounts/{}.json`.
