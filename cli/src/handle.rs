//! Resume handles on disk: read for `--resume`, written on timeouts and interruptions.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tower_lro::ResumeHandle;

use crate::exit::Failure;

/// Reads a handle from `FILE`, or from stdin for `-` (`--resume`).
pub fn load(source: &str) -> Result<ResumeHandle, Failure> {
    load_for("--resume", source)
}

/// Reads a handle from `FILE`, or from stdin for `-`, for `option` (`--resume`, `--cancel`).
pub fn load_for(option: &str, source: &str) -> Result<ResumeHandle, Failure> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("{option} -: {e}")))?;
        text
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::usage(format!("{option} {source}: {e}")))?
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{option} {source}: not a resume handle: {e}")))
}

/// The handle as JSON text.
pub fn to_json(handle: &ResumeHandle) -> String {
    serde_json::to_string_pretty(handle).unwrap_or_else(|_| "null".to_owned())
}

/// Writes `handle` to `path`, or to a new `lro-resume-<time>.json` in the current directory.
/// Returns where it went.
pub fn save(handle: &ResumeHandle, path: Option<&Path>) -> Result<PathBuf, Failure> {
    let text = to_json(handle) + "\n";
    if let Some(path) = path {
        write_private(path, &text)
            .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))?;
        return Ok(path.to_owned());
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Never overwrite an earlier handle: try a few suffixes.
    for n in 0..100 {
        let name = match n {
            0 => format!("lro-resume-{secs}.json"),
            _ => format!("lro-resume-{secs}-{n}.json"),
        };
        let path = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())
                    .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Failure::local(format!(
                    "cannot write {}: {e}",
                    path.display()
                )))
            }
        }
    }
    Err(Failure::local(
        "cannot find a free name for the resume handle",
    ))
}

/// Files `lro` writes that may name a URL (handles, `--metadata`) are created readable by their
/// owner only: a monitor URL can be a capability even with its credentials left out.
pub const PRIVATE: u32 = 0o600;

/// Writes `text` to `path`, creating it with mode `0600` (an existing file is truncated and
/// keeps its mode).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE)
        .open(path)?;
    file.write_all(text.as_bytes())
}
