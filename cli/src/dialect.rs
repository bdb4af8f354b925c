//! `--dialect NAME | @FILE | JSON`: read into a `tower_lro::Dialect`, which the layer is
//! configured with (`setup::layer`), for the command and the proxy alike.

use tower_lro::Dialect;

use crate::exit::Failure;

/// Reads `--dialect`: `default`, `google`, `compute`, `fhir`, `ogc-processes`, `@FILE` holding a declared dialect in
/// JSON, or that JSON inline. A description the library refuses is a usage error carrying the
/// library's `InvalidDialect` text.
pub fn parse(spec: &str) -> Result<Dialect, Failure> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--dialect @{path}: {e}")))?;
        return Dialect::from_json(&text)
            .map_err(|e| Failure::usage(format!("--dialect @{path}: {e}")));
    }
    let trimmed = spec.trim();
    let text = if trimmed.starts_with('{') {
        trimmed.to_owned()
    } else {
        // Names are case-insensitive on the command line (`Google`, `COMPUTE`).
        trimmed.to_ascii_lowercase()
    };
    text.parse::<Dialect>().map_err(|e| {
        let shown = if text.starts_with('{') {
            "(inline JSON)"
        } else {
            spec
        };
        Failure::usage(format!(
            "--dialect {shown}: {e} (use default, google, compute, fhir, ogc-processes, @FILE or \
             inline JSON)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_inline_json() {
        assert_eq!(parse("google").unwrap().name(), "google");
        assert_eq!(parse("Compute").unwrap().name(), "compute");
        assert!(parse("default").unwrap().is_default());
        assert_eq!(parse("FHIR").unwrap().name(), "fhir");
        assert_eq!(
            parse("ogc-processes").unwrap(),
            tower_lro::Dialect::ogc_processes()
        );
        let inline = r#"{"name":"jobs","status_url":{"header":"Location"},"status_word":"/state"}"#;
        assert_eq!(parse(inline).unwrap().name(), "jobs");
    }

    #[test]
    fn refusals_are_usage_errors_with_the_library_text() {
        let e = parse("soap").unwrap_err();
        assert_eq!(e.code, crate::exit::USAGE);
        assert!(e.message.contains("invalid dialect"), "{e}");
        let e = parse(r#"{"status_word":"/status"}"#).unwrap_err();
        assert!(e.message.contains("invalid dialect"), "{e}");
        let e = parse("@/nonexistent/lro-dialect.json").unwrap_err();
        assert_eq!(e.code, crate::exit::USAGE);
    }
}
