//! `reqwest-middleware` adapter (being written).
