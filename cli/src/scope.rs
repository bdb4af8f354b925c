//! Whose idempotency key it is (`lro proxy`): the credential **scope** of a key, and the
//! per-deployment secret it is computed under.
//!
//! A store key is `{scope}:{key}` (see [`Scope::store_key`]); the scope is an HMAC-SHA256 of
//! the request's credential headers under a secret, its first 128 bits in hex. The scope shows
//! where the credentials do not go — store key names, the façade's operation ids in URLs and
//! the logs of whatever carries them — so it must not be undoable: an unkeyed hash of a weak
//! credential (HTTP Basic `user:password`, a short API key) is reversed offline by trying a
//! dictionary; a keyed one cannot be recomputed without the secret. The same secret keys the
//! store's fingerprint of a keyed request's body ([`Scope::body_mac`]), for the same reason.
//!
//! The secret must be the same for every proxy that shares a store, and across restarts, or a
//! client's retry would not find its operation and would submit it again. It comes from, in
//! this order (see `proxy_store::open`):
//!
//! - `--scope-secret-file PATH`: the file's bytes (trailing whitespace aside), at least
//!   [`SECRET_MIN`] of them; given to every proxy of a fleet, the store never holds it;
//! - a file store `FILE`: `FILE.scope-secret` beside it (mode `0600`), 256 random bits in hex
//!   made by the first proxy that opens the store;
//! - a Redis store: the value `{prefix}shared:scope-secret` in it, 256 random bits in hex set
//!   if absent, so that proxies starting at once agree (readable by whoever reads the store);
//! - the memory store: random bits for this process (its records die with it anyway).

use std::io::Write;
use std::path::{Path, PathBuf};

use http::HeaderMap;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::exit::Failure;

/// The fewest bytes a secret has.
pub const SECRET_MIN: usize = 32;

/// The name of the secret's value in a Redis store.
pub const REDIS_NAME: &str = "scope-secret";

/// Computes the credential scope of keys under one secret.
pub struct Scope(hmac::Key);

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scope(***)")
    }
}

impl Scope {
    /// Scopes under `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Whose key it is: the first 128 bits of an HMAC-SHA256 (under the secret) of the
    /// request's credential headers (names and values, sorted: the same credentials sent in
    /// another order are the same caller; the key's own headers aside) and of the credential
    /// parameters of its `query` (`code=`, `sig=`, `api-key=`…: the names
    /// [`tower_lro::credentials`] lists), as they are written, sorted: callers told apart by a
    /// query credential alone (Azure Functions' `?code=`) are two callers. In hex; of nothing
    /// when it carries none.
    pub fn of(&self, headers: &HeaderMap, query: Option<&str>) -> String {
        let mut credentials: Vec<(&str, &[u8])> = headers
            .iter()
            // `Idempotency-Key` matches the credential pattern (`*key*`): it is the key itself.
            .filter(|(name, _)| *name != "idempotency-key" && *name != "repeatability-request-id")
            .filter(|(name, _)| tower_lro::credentials::is_credential_header(name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        credentials.sort_unstable();
        let mut params: Vec<&str> = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|pair| is_credential_param(pair))
            .collect();
        params.sort_unstable();
        let mut mac = hmac::Context::with_key(&self.0);
        for (name, value) in credentials {
            mac.update(name.as_bytes());
            mac.update(b":");
            mac.update(value);
            mac.update(b"\n");
        }
        // `?` starts no header name (not a token character): a parameter's line is never a
        // header's.
        for pair in params {
            mac.update(b"?");
            mac.update(pair.as_bytes());
            mac.update(b"\n");
        }
        hex(&mac.sign().as_ref()[..16])
    }

    /// The MAC of a keyed request's body under the secret, for the store's fingerprint of the
    /// request ([`LroOptions::request_body_mac`](tower_lro::LroOptions::request_body_mac)): an
    /// unkeyed hash of a body of known structure would let whoever reads the store test
    /// guesses of a secret in it offline. The input starts with a NUL, which starts no
    /// credential line of [`of`](Self::of): a body's MAC is never a scope's.
    pub fn body_mac(&self, body: &[u8]) -> hmac::Tag {
        let mut mac = hmac::Context::with_key(&self.0);
        mac.update(b"\0body\n");
        mac.update(body);
        mac.sign()
    }

    /// Where the operation under a client's `key` is kept: `{scope}:{key}` (see
    /// [`of`](Self::of), of the request's headers and `query`), so that two
    /// callers who chose the same key never share an operation, whether they wait for it or use
    /// the asynchronous façade (whose operation id this is). A request without credentials is
    /// scoped too (by the MAC of nothing): were its key kept bare, a key spelled `{someone's
    /// scope}:{their key}` would reach their operation.
    pub fn store_key(&self, headers: &HeaderMap, query: Option<&str>, key: &str) -> String {
        format!("{}:{key}", self.of(headers, query))
    }
}

/// Whether a query's `name=value` pair (form-encoded) is a credential with a value, by its
/// decoded name.
fn is_credential_param(pair: &str) -> bool {
    let Some((name, _)) = pair.split_once('=') else {
        return false;
    };
    let decoded = whatwg_url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(name, _)| name);
    decoded.is_some_and(|name| tower_lro::credentials::is_credential_query(&name))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` bytes from the system's random generator, in hex (also the façade's fresh operation
/// ids); `None` when it has none to give.
pub fn random_hex<const N: usize>() -> Option<String> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

/// The id this proxy holds store leases under: `lro-{pid}-{128 random bits in hex}`, from the
/// same generator as the façade's operation ids (containers all run as pid 1, so the process
/// id and the time alone may be another instance's); `None` when it has no bits to give (the
/// library's default id, random too, is kept).
pub fn holder_id() -> Option<String> {
    Some(format!(
        "lro-{}-{}",
        std::process::id(),
        random_hex::<16>()?
    ))
}

/// 256 random bits in hex (64 characters and a newline): a secret as this module writes one.
pub fn fresh() -> Result<Vec<u8>, Failure> {
    let bits = random_hex::<32>()
        .ok_or_else(|| Failure::local("no random bits for the key scope's secret"))?;
    Ok(format!("{bits}\n").into_bytes())
}

/// A secret as read: trailing whitespace (a file's newline) aside, at least [`SECRET_MIN`]
/// bytes; `from` names where it was, for the message.
pub fn checked(mut bytes: Vec<u8>, from: &str) -> Result<Vec<u8>, Failure> {
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    if bytes.len() < SECRET_MIN {
        return Err(Failure::usage(format!(
            "{from}: the key scope's secret has {} bytes, at least {SECRET_MIN} are needed \
             (e.g. `openssl rand -hex 32`)",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// `--scope-secret-file PATH`'s secret.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    let shown = format!("--scope-secret-file {}", path.display());
    let bytes =
        std::fs::read(path).map_err(|e| Failure::usage(format!("{shown}: cannot read: {e}")))?;
    checked(bytes, &shown)
}

/// Where a file store's secret is: `FILE.scope-secret`.
pub fn beside(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".scope-secret");
    PathBuf::from(name)
}

/// The secret beside the file store at `store` (see [`beside`]), made when missing: written
/// whole to a temporary file of mode `0600` and linked to its name only when none is there
/// (a link never replaces), so a reader never sees half of one and two makers agree.
pub fn beside_file(store: &Path) -> Result<Vec<u8>, Failure> {
    let path = beside(store);
    let shown = path.display().to_string();
    let failed = |what: &str, e: std::io::Error| Failure::usage(format!("{shown}: {what}: {e}"));
    match std::fs::read(&path) {
        Ok(bytes) => return checked(bytes, &shown),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed("cannot read", e)),
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".{}.new", std::process::id()));
    let temp = PathBuf::from(temp);
    // One left by a maker of this process id that died before it linked it (in a container
    // the id is the same at every start): only this process makes this name now (it holds the
    // store file), and a secret never linked was never used.
    let _ = std::fs::remove_file(&temp);
    let made = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&fresh().map_err(|f| std::io::Error::other(f.to_string()))?)?;
        file.sync_all()?;
        match std::fs::hard_link(&temp, &path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        // The link itself on disk before any record is scoped by it: after a power loss a
        // lost link would mean a new secret beside records scoped by the old one.
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => std::fs::File::open(dir)?.sync_all(),
            None => std::fs::File::open(".")?.sync_all(),
        }
    })();
    let _ = std::fs::remove_file(&temp);
    made.map_err(|e| failed("cannot create", e))?;
    let bytes = std::fs::read(&path).map_err(|e| failed("cannot read", e))?;
    checked(bytes, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_store::tests::headers;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// Two ids made by one process at once differ (two instances, both pid 1, never share
    /// one): 128 random bits each.
    #[test]
    fn holder_ids_differ() {
        let (a, b) = (holder_id().unwrap(), holder_id().unwrap());
        assert_ne!(a, b);
        let prefix = format!("lro-{}-", std::process::id());
        assert!(a.starts_with(&prefix), "{a}");
        assert_eq!(a.len(), prefix.len() + 32, "{a}");
    }

    #[test]
    fn scopes_by_credentials() {
        let scope = Scope::new(SECRET);
        let nobody = scope.of(&headers(&[]), None);
        assert_eq!(scope.of(&headers(&[("accept", "x")]), None), nobody);
        assert_eq!(
            scope.of(&headers(&[("idempotency-key", "x")]), None),
            nobody
        );
        let a = scope.of(&headers(&[("authorization", "Bearer a")]), None);
        let b = scope.of(&headers(&[("authorization", "Bearer b")]), None);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_ne!(a, nobody);
        // The same credentials in another order: the same caller.
        let both = |first: (&'static str, &'static str), second| {
            scope.of(&headers(&[first, second]), None)
        };
        let (auth, key) = (("authorization", "Bearer a"), ("x-api-key", "k"));
        assert_eq!(both(auth, key), both(key, auth));
        assert_ne!(both(auth, key), a);
        let store_key = |pairs: &[(&str, &str)], key| scope.store_key(&headers(pairs), None, key);
        assert_eq!(store_key(&[("accept", "x")], "k"), format!("{nobody}:k"));
        let scoped = store_key(&[("authorization", "Bearer a")], "k");
        assert_eq!(scoped, format!("{a}:k"));
        // A key without credentials spelled like someone's scoped key stays in its own scope.
        assert_ne!(store_key(&[], &scoped), scoped);
    }

    /// Query credentials scope as header credentials do: by name (decoded) and value, in any
    /// order; other parameters, and a credential's name without a value, scope as nothing.
    #[test]
    fn scopes_by_query_credentials() {
        let scope = Scope::new(SECRET);
        let none = HeaderMap::new();
        let of = |query: &str| scope.of(&none, Some(query));
        let nobody = scope.of(&none, None);
        assert_eq!(of("api-version=1&page=2"), nobody);
        assert_eq!(of("code"), nobody);
        let (a, b) = (of("code=a"), of("code=b"));
        assert_ne!(a, nobody);
        assert_ne!(a, b);
        assert_eq!(of("api-version=1&code=a"), a);
        assert_eq!(of("sig=s&code=a"), of("code=a&sig=s"));
        assert_ne!(of("%63ode=a"), nobody, "a name's escapes are read");
        // A header and a parameter of the same words are not the same caller.
        let header = scope.of(&headers(&[("api-key", "v")]), None);
        assert_ne!(header, nobody);
        assert_ne!(header, of("api-key=v"));
        let auth = headers(&[("authorization", "Bearer a")]);
        assert_ne!(scope.of(&auth, Some("code=a")), scope.of(&auth, None));
    }

    /// The scope of a Basic credential is a MAC under the secret: not the unkeyed SHA-256 of
    /// the same bytes (which anyone could recompute for each guess of a password), and another
    /// secret gives another scope.
    #[test]
    fn a_scope_cannot_be_recomputed_without_the_secret() {
        let basic = headers(&[("authorization", "Basic dXNlcjpodW50ZXIy")]); // user:hunter2
        let unkeyed = ring::digest::digest(
            &ring::digest::SHA256,
            b"authorization:Basic dXNlcjpodW50ZXIy\n",
        );
        let scope = Scope::new(SECRET).of(&basic, None);
        assert_ne!(scope, hex(&unkeyed.as_ref()[..16]));
        let nothing = ring::digest::digest(&ring::digest::SHA256, b"");
        assert_ne!(
            Scope::new(SECRET).of(&headers(&[]), None),
            hex(&nothing.as_ref()[..16])
        );
        assert_ne!(
            Scope::new(b"another secret, 32 bytes or more").of(&basic, None),
            scope
        );
        assert_eq!(
            Scope::new(SECRET).of(&basic, None),
            scope,
            "the same secret agrees"
        );
    }

    #[test]
    fn secrets_are_checked_and_made_private() {
        assert!(checked(b"short\n".to_vec(), "x").is_err());
        assert_eq!(checked([SECRET, b"\n"].concat(), "x").unwrap(), SECRET);
        let dir = std::env::temp_dir().join(format!("lro-scope-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = dir.join("ops.redb");
        let made = beside_file(&store).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(beside_file(&store).unwrap(), made, "made once, then read");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(beside(&store)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_ne!(fresh().unwrap(), fresh().unwrap());
    }

    /// A temporary file left by a maker that died before it linked it (power lost during the
    /// write) does not stop the next start: in a container the proxy gets the same process id
    /// each time, so the name is taken again.
    #[test]
    fn a_temporary_file_left_by_a_dead_maker_is_replaced() {
        let dir = std::env::temp_dir().join(format!("lro-scope-left-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = dir.join("ops.redb");
        let mut left = beside(&store).into_os_string();
        left.push(format!(".{}.new", std::process::id()));
        std::fs::write(&left, b"0123").unwrap();
        let made = beside_file(&store);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(made.map(|m| m.len()).ok(), Some(64));
        assert_eq!(names, ["ops.redb.scope-secret"], "no temporary file left");
    }
}
