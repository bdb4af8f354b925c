//! `--dialect NAME | @FILE`: parsed here; applied to the layer in one place
//! ([`apply_dialect`]), which needs the library's `Dialect` API.

use tower_lro::LroLayer;

use crate::exit::Failure;

/// A dialect named on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum DialectSpec {
    /// Google `Operation` (AIP-151).
    Google,
    /// Compute Engine `Operation`.
    Compute,
    /// A declared dialect: the JSON text of the file, already checked to be JSON.
    Declared(String),
}

/// Reads `--dialect`: `google`, `compute`, or `@FILE` holding a declared dialect in JSON.
pub fn parse(spec: &str) -> Result<DialectSpec, Failure> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--dialect @{path}: {e}")))?;
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| Failure::usage(format!("--dialect @{path}: not JSON: {e}")))?;
        return Ok(DialectSpec::Declared(text));
    }
    match spec.to_ascii_lowercase().as_str() {
        "google" => Ok(DialectSpec::Google),
        "compute" => Ok(DialectSpec::Compute),
        "default" | "azure" => Err(Failure::usage(
            "--dialect: the default (Azure-style) dialect needs no option",
        )),
        _ => Err(Failure::usage(format!(
            "--dialect: unknown dialect `{spec}` (google, compute, or @FILE with a declared dialect)"
        ))),
    }
}

/// Configures `layer` for the dialect.
///
/// The only place that touches the library's dialect API. Until `tower_lro::Dialect` is
/// available (`Dialect::google()`, `Dialect::compute()`, `Dialect::from_json(&str)`,
/// `LroLayer::dialect(..)`), every dialect is a usage error that says so.
pub fn apply_dialect(layer: LroLayer, spec: &DialectSpec) -> Result<LroLayer, Failure> {
    let name = match spec {
        DialectSpec::Google => "google",
        DialectSpec::Compute => "compute",
        DialectSpec::Declared(_) => "a declared dialect",
    };
    let _ = layer;
    Err(Failure::usage(format!(
        "--dialect {name}: dialects need a newer tower-lro (this build knows only the default dialect)"
    )))
}
