//! Why a bundle was refused: one variant per rule, each with a stable machine-readable code.

use serde::Serialize;

/// One problem found in a manifest, located by a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON pointer into `manifest.json`, e.g. `/extensionPoints/pages/0/handler`.
    pub pointer: String,
    /// Stable short code of the rule, e.g. `missing_export`.
    pub rule: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(pointer: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), rule, message: message.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "{at}: {}", self.message)
    }
}

/// A syntax or import error in a module, located by file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Every reason a bundle is refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is {size} bytes; the limit is {limit} bytes compressed")]
    TooLarge { size: u64, limit: u64 },
    #[error("bundle unpacks to more than {limit} bytes")]
    UnpackedTooLarge { limit: u64 },
    #[error("bundle has {count} entries; the limit is {limit}")]
    TooManyEntries { count: usize, limit: usize },
    #[error("bundle unpacks to more than {ratio} times its compressed size (a compression bomb?)")]
    CompressionRatio { ratio: u64 },
    #[error("path {path:?} is {len} bytes long; the limit is {limit}")]
    PathTooLong { path: String, len: usize, limit: usize },
    #[error("path {path:?} is not allowed: {reason}")]
    UnsafePath { path: String, reason: &'static str },
    #[error("entry {path:?} is a {kind}; bundles may hold regular files and directories only")]
    SpecialEntry { path: String, kind: &'static str },
    #[error("path {path:?} appears more than once")]
    DuplicatePath { path: String },
    #[error("an entry name is not valid UTF-8 (bytes: {hex})")]
    NonUtf8Path { hex: String },
    #[error("not a bundle: {0}")]
    Format(String),
    #[error("manifest.json is missing from the bundle root")]
    ManifestMissing,
    #[error("manifest.json is not valid JSON: {0}")]
    ManifestParse(String),
    /// The manifest's problems, and whatever the modules have as well (found in the same
    /// pass, so an author sees everything at once).
    #[error("manifest.json has {} problem(s): {}{}", .0.len(), join(.0), also(.1))]
    ManifestInvalid(Vec<Problem>, Vec<SourceProblem>),
    #[error("{} module problem(s): {}", .0.len(), join(.0))]
    ModuleSyntax(Vec<SourceProblem>),
    #[error("{} import problem(s): {}", .0.len(), join(.0))]
    ModuleImport(Vec<SourceProblem>),
    #[error("file {path:?} does not match its recorded hash (expected {expected}, found {actual})")]
    HashMismatch { path: String, expected: String, actual: String },
    #[error("the bundle is not signed, and the signature policy requires it")]
    SignatureRequired,
    #[error("signature key {key_id:?} is not among the trusted publisher keys")]
    SignatureUntrusted { key_id: String },
    #[error("signature is invalid: {0}")]
    SignatureInvalid(String),
}

/// The module problems that come with a manifest's, as the end of its message.
fn also(modules: &[SourceProblem]) -> String {
    if modules.is_empty() {
        String::new()
    } else {
        format!("; and {} module problem(s): {}", modules.len(), join(modules))
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(5).map(ToString::to_string).collect();
    let more = items.len().saturating_sub(5);
    if more > 0 {
        format!("{}; and {more} more", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

impl BundleError {
    /// The stable code callers branch on (and the HTTP API returns).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "BUNDLE_TOO_LARGE",
            Self::UnpackedTooLarge { .. } => "BUNDLE_UNPACKED_TOO_LARGE",
            Self::TooManyEntries { .. } => "BUNDLE_TOO_MANY_ENTRIES",
            Self::CompressionRatio { .. } => "BUNDLE_COMPRESSION_RATIO",
            Self::PathTooLong { .. } => "BUNDLE_PATH_TOO_LONG",
            Self::UnsafePath { .. } => "BUNDLE_UNSAFE_PATH",
            Self::SpecialEntry { .. } => "BUNDLE_SPECIAL_ENTRY",
            Self::DuplicatePath { .. } => "BUNDLE_DUPLICATE_PATH",
            Self::NonUtf8Path { .. } => "BUNDLE_NON_UTF8_PATH",
            Self::Format(_) => "BUNDLE_FORMAT",
            Self::ManifestMissing => "MANIFEST_MISSING",
            Self::ManifestParse(_) => "MANIFEST_PARSE",
            Self::ManifestInvalid(..) => "MANIFEST_INVALID",
            Self::ModuleSyntax(_) => "MODULE_SYNTAX",
            Self::ModuleImport(_) => "MODULE_IMPORT",
            Self::HashMismatch { .. } => "BUNDLE_HASH_MISMATCH",
            Self::SignatureRequired => "SIGNATURE_REQUIRED",
            Self::SignatureUntrusted { .. } => "SIGNATURE_UNTRUSTED",
            Self::SignatureInvalid(_) => "SIGNATURE_INVALID",
        }
    }

    /// Structured details for API responses: the problem lists, where there are any.
    pub fn details(&self) -> serde_json::Value {
        match self {
            // One list: each problem has a `pointer` into manifest.json or a `file`/`line`/`column`.
            Self::ManifestInvalid(problems, modules) => {
                let mut all: Vec<serde_json::Value> = problems.iter().map(|p| serde_json::json!(p)).collect();
                all.extend(modules.iter().map(|p| serde_json::json!(p)));
                serde_json::json!({ "problems": all })
            }
            Self::ModuleSyntax(problems) | Self::ModuleImport(problems) => serde_json::json!({ "problems": problems }),
            Self::PathTooLong { path, .. }
            | Self::UnsafePath { path, .. }
            | Self::SpecialEntry { path, .. }
            | Self::DuplicatePath { path }
            | Self::HashMismatch { path, .. } => serde_json::json!({ "path": path }),
            _ => serde_json::Value::Null,
        }
    }
}
