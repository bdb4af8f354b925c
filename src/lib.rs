//! placeholder docs
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod body;
mod config;
mod error;
pub mod future;
pub mod header;
mod layer;
mod metadata;
mod options;
pub mod proto;
mod read;
mod resume;
mod service;
pub mod status;

pub use body::LroBody;
pub use config::{Config, FinalState};
pub use error::{Error, ErrorKind};
pub use layer::LroLayer;
pub use metadata::{LroMetadata, Progress, Rule};
pub use options::LroOptions;
pub use resume::ResumeHandle;
pub use service::LroService;
pub use status::{ODataError, OperationStatus};
