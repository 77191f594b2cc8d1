//! SQLite serves one node: a second `serve` on the same database file is refused at start.
//!
//! SQLite's own locking would let two processes share the file, but each would cache what
//! it read and never hear of the other's writes (only PostgreSQL carries change
//! notifications between nodes). An exclusive `flock` on `<file>.lock`, held for the whole
//! run and released by the kernel however the process ends, makes the second one say so.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use crate::config::ConfigError;

/// Holds the database file for this process until dropped.
pub struct SqliteLock {
    _file: File,
}

/// The database file a `sqlite:` URL names, unless it is in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory")).then(|| PathBuf::from(path))
}

/// Takes the lock of the SQLite file `url` names; `None` for PostgreSQL and in-memory SQLite.
pub fn lock_sqlite(url: &str) -> Result<Option<SqliteLock>, ConfigError> {
    let Some(path) = sqlite_file(url) else { return Ok(None) };
    // One lock per file however it is named (a symlinked or relative path): the folder is
    // resolved, the file itself may not exist yet.
    let path = match (path.parent().filter(|p| !p.as_os_str().is_empty()).map(std::fs::canonicalize), path.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        (None, Some(name)) => std::env::current_dir().map(|dir| dir.join(name)).unwrap_or(path.clone()),
        _ => path,
    };
    let mut lock_path = path.clone().into_os_string();
    lock_path.push(".lock");
    let fail = |reason: String| ConfigError::Database { url: url.to_owned(), reason };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| fail(format!("cannot open {}: {e}", PathBuf::from(&lock_path).display())))?;
    // SAFETY: flock on a descriptor this function owns; it only reads the integer.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if taken != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(fail(format!(
                "another alga-ext serve is using {} (it holds {}); SQLite serves one node — stop the other one, \
                 give this one its own --data-dir, or run several nodes on PostgreSQL",
                path.display(),
                PathBuf::from(&lock_path).display()
            )));
        }
        return Err(fail(format!("cannot lock {}: {err}", PathBuf::from(&lock_path).display())));
    }
    Ok(Some(SqliteLock { _file: file }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("alga-ext.db").display());
        let first = lock_sqlite(&url).unwrap();
        assert!(first.is_some());
        let second = lock_sqlite(&url).err().expect("the second node is refused").to_string();
        assert!(second.contains("another alga-ext serve is using") && second.contains("--data-dir") && second.contains("PostgreSQL"), "{second}");
        // The same file through a symlinked folder is the same lock.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        let via_link = format!("sqlite://{}", link.join("alga-ext.db").display());
        assert!(lock_sqlite(&via_link).is_err(), "a symlinked path is the same file");
        drop(first);
        assert!(lock_sqlite(&url).unwrap().is_some(), "free again once the first is gone");
    }

    #[test]
    fn postgres_and_memory_databases_take_no_lock() {
        assert!(lock_sqlite("postgres://u@h/db").unwrap().is_none());
        assert!(lock_sqlite("sqlite::memory:").unwrap().is_none());
        assert!(lock_sqlite("sqlite://file.db?mode=memory").unwrap().is_none());
    }
}
