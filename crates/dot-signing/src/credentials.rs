//! Signing keys behind credential references (`env:NAME`, `file:PATH`, `mem:NAME`).
//! Owns `CredentialRef`, the redacting `SecretKey`, and the credential stores.
//!
//! Key material is never logged, never shown by `Debug`, and never part of an
//! error message; errors name the reference only.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a key could not be resolved. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The reference string is not `env:NAME`, `file:PATH` or `mem:NAME`.
    /// (The string itself is not echoed, in case a key was pasted by mistake.)
    #[error("invalid credential reference ({reason}); expected env:NAME, file:PATH or mem:NAME")]
    InvalidReference {
        /// What is wrong.
        reason: &'static str,
    },
    /// The store knows how to resolve the reference, but nothing is there.
    #[error("credential {reference} not found")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// No store handles this kind of reference.
    #[error("credential {reference}: no store handles this reference")]
    Unsupported {
        /// The reference.
        reference: String,
    },
    /// The key exists but could not be read.
    #[error("credential {reference} could not be read ({kind})")]
    Unreadable {
        /// The reference.
        reference: String,
        /// The I/O error kind (the message is not kept).
        kind: std::io::ErrorKind,
    },
    /// The key is empty.
    #[error("credential {reference} is empty")]
    Empty {
        /// The reference.
        reference: String,
    },
}

/// Where a [`CredentialRef`] points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource<'a> {
    /// `env:NAME`: the environment variable `NAME`.
    Env(&'a str),
    /// `file:PATH`: the file at `PATH`.
    File(&'a Path),
    /// `mem:NAME`: an entry of an in-memory store (tests).
    Memory(&'a str),
}

/// A credential reference as stored in a signature row: `env:NAME`, `file:PATH` or
/// `mem:NAME`. It names where the key is, never the key itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CredentialRef(String);

impl CredentialRef {
    /// Parses and validates a reference.
    pub fn parse(s: &str) -> Result<CredentialRef, CredentialError> {
        let invalid = |reason| Err(CredentialError::InvalidReference { reason });
        let Some((scheme, rest)) = s.split_once(':') else {
            return invalid("missing scheme");
        };
        if rest.is_empty() {
            return invalid("empty name or path");
        }
        if rest.chars().any(char::is_control) {
            return invalid("control character");
        }
        match scheme {
            "env" | "mem" => {
                if !rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
                {
                    return invalid("name must be ASCII letters, digits, '_', '-' or '.'");
                }
            }
            "file" => {}
            _ => return invalid("unknown scheme"),
        }
        Ok(CredentialRef(s.to_string()))
    }

    /// `env:NAME`.
    pub fn env(name: &str) -> Result<CredentialRef, CredentialError> {
        CredentialRef::parse(&format!("env:{name}"))
    }

    /// `file:PATH`.
    pub fn file(path: impl AsRef<Path>) -> Result<CredentialRef, CredentialError> {
        match path.as_ref().to_str() {
            Some(p) => CredentialRef::parse(&format!("file:{p}")),
            None => Err(CredentialError::InvalidReference {
                reason: "path is not valid UTF-8",
            }),
        }
    }

    /// `mem:NAME`.
    pub fn memory(name: &str) -> Result<CredentialRef, CredentialError> {
        CredentialRef::parse(&format!("mem:{name}"))
    }

    /// The reference string (what the row stores).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the reference points.
    pub fn source(&self) -> CredentialSource<'_> {
        match self.0.split_once(':') {
            Some(("env", name)) => CredentialSource::Env(name),
            Some(("file", path)) => CredentialSource::File(Path::new(path)),
            // Only `mem:` is left after validation.
            Some((_, name)) => CredentialSource::Memory(name),
            None => CredentialSource::Memory(""),
        }
    }

    fn not_found(&self) -> CredentialError {
        CredentialError::NotFound {
            reference: self.0.clone(),
        }
    }

    fn unsupported(&self) -> CredentialError {
        CredentialError::Unsupported {
            reference: self.0.clone(),
        }
    }
}

impl TryFrom<String> for CredentialRef {
    type Error = CredentialError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CredentialRef::parse(&s)
    }
}

impl From<CredentialRef> for String {
    fn from(r: CredentialRef) -> String {
        r.0
    }
}

impl std::str::FromStr for CredentialRef {
    type Err = CredentialError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialRef::parse(s)
    }
}

impl fmt::Debug for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialRef({:?})", self.0)
    }
}

impl fmt::Display for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key material. `Debug` is redacted, there is no `Display`, no `Clone`, no serde,
/// and the bytes are overwritten with zeros on drop (best effort).
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> SecretKey {
        SecretKey(bytes)
    }

    /// The key bytes, for computing the HMAC.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

/// Resolves credential references to keys.
pub trait CredentialStore {
    /// The key behind `reference`. Must fail with [`CredentialError::Unsupported`] for
    /// references it does not handle (so that [`ChainStore`] tries the next store),
    /// and must never put key material in an error.
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError>;
}

impl<T: CredentialStore + ?Sized> CredentialStore for &T {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        (**self).resolve(reference)
    }
}

impl<T: CredentialStore + ?Sized> CredentialStore for Box<T> {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        (**self).resolve(reference)
    }
}

impl<T: CredentialStore + ?Sized> CredentialStore for std::sync::Arc<T> {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        (**self).resolve(reference)
    }
}

fn non_empty(reference: &CredentialRef, bytes: Vec<u8>) -> Result<SecretKey, CredentialError> {
    let key = SecretKey::new(bytes);
    if key.is_empty() {
        Err(CredentialError::Empty {
            reference: reference.0.clone(),
        })
    } else {
        Ok(key)
    }
}

/// Resolves `env:NAME` from the process environment. The key is the variable's
/// value as raw bytes (no trimming).
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvStore;

impl CredentialStore for EnvStore {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        let CredentialSource::Env(name) = reference.source() else {
            return Err(reference.unsupported());
        };
        let value = std::env::var_os(name).ok_or_else(|| reference.not_found())?;
        #[cfg(unix)]
        let bytes = std::os::unix::ffi::OsStringExt::into_vec(value);
        #[cfg(not(unix))]
        let bytes = value
            .into_string()
            .map_err(|_| CredentialError::Unreadable {
                reference: reference.0.clone(),
                kind: std::io::ErrorKind::InvalidData,
            })?
            .into_bytes();
        non_empty(reference, bytes)
    }
}

/// Resolves `file:PATH`. The key is the file's bytes with one trailing `\n` or
/// `\r\n` removed. Relative paths are resolved against the base directory, if any,
/// else against the current directory.
#[derive(Debug, Clone, Default)]
pub struct FileStore {
    base_dir: Option<PathBuf>,
}

impl FileStore {
    /// A store resolving relative paths against the current directory.
    pub fn new() -> FileStore {
        FileStore { base_dir: None }
    }

    /// A store resolving relative paths against `dir`.
    pub fn with_base_dir(dir: impl Into<PathBuf>) -> FileStore {
        FileStore {
            base_dir: Some(dir.into()),
        }
    }
}

impl CredentialStore for FileStore {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        let CredentialSource::File(path) = reference.source() else {
            return Err(reference.unsupported());
        };
        let path = match &self.base_dir {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        };
        let mut bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => reference.not_found(),
            kind => CredentialError::Unreadable {
                reference: reference.0.clone(),
                kind,
            },
        })?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        non_empty(reference, bytes)
    }
}

/// In-memory store for tests: maps whole references (of any scheme) to keys, so a
/// test can serve `env:DOT_992_KEY` without touching the environment.
#[derive(Default)]
pub struct MemoryStore {
    keys: HashMap<CredentialRef, SecretKey>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Adds (or replaces) the key behind `reference`.
    pub fn insert(&mut self, reference: &CredentialRef, key: impl Into<Vec<u8>>) {
        self.keys
            .insert(reference.clone(), SecretKey::new(key.into()));
    }

    /// Builder form of [`MemoryStore::insert`].
    pub fn with(mut self, reference: &CredentialRef, key: impl Into<Vec<u8>>) -> MemoryStore {
        self.insert(reference, key);
        self
    }

    /// Removes the key behind `reference`.
    pub fn remove(&mut self, reference: &CredentialRef) {
        self.keys.remove(reference);
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut refs: Vec<&str> = self.keys.keys().map(CredentialRef::as_str).collect();
        refs.sort_unstable();
        f.debug_struct("MemoryStore")
            .field("references", &refs)
            .field("keys", &"<redacted>")
            .finish()
    }
}

impl CredentialStore for MemoryStore {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        match self.keys.get(reference) {
            Some(key) => non_empty(reference, key.0.clone()),
            None => Err(reference.not_found()),
        }
    }
}

/// The combined resolver: asks each store in turn. A store answering
/// [`CredentialError::Unsupported`] or [`CredentialError::NotFound`] passes to the
/// next; any other answer (a key, or an error such as an unreadable file) is final.
#[derive(Default)]
pub struct ChainStore {
    stores: Vec<Box<dyn CredentialStore + Send + Sync>>,
}

impl ChainStore {
    /// An empty chain (resolves nothing).
    pub fn new() -> ChainStore {
        ChainStore::default()
    }

    /// The dry-run resolver: environment, then files (relative to the current directory).
    pub fn dry_run() -> ChainStore {
        ChainStore::new().with(EnvStore).with(FileStore::new())
    }

    /// Appends a store.
    pub fn with(mut self, store: impl CredentialStore + Send + Sync + 'static) -> ChainStore {
        self.stores.push(Box::new(store));
        self
    }
}

impl fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainStore")
            .field("stores", &self.stores.len())
            .finish()
    }
}

impl CredentialStore for ChainStore {
    fn resolve(&self, reference: &CredentialRef) -> Result<SecretKey, CredentialError> {
        let mut last = reference.unsupported();
        for store in &self.stores {
            match store.resolve(reference) {
                // Prefer "not found" (some store handles it) over "unsupported".
                Err(e @ CredentialError::NotFound { .. }) => last = e,
                Err(CredentialError::Unsupported { .. }) => {}
                other => return other,
            }
        }
        Err(last)
    }
}
