//! Builds bundle archives for tests, including hostile ones that ordinary tools refuse to
//! write: raw (non-UTF-8, `..`, absolute) names, duplicates, links and devices.

use std::io::Write;

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use serde::Deserialize;
use serde_json::Value;

/// One archive entry of a test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// UTF-8 path; `{n}` is replaced by the index when `repeat` is set.
    pub path: Option<String>,
    /// Path as hex bytes, for names that are not UTF-8.
    pub path_hex: Option<String>,
    pub text: Option<String>,
    pub json: Option<Value>,
    /// That many zero bytes.
    pub zeros: Option<usize>,
    /// That many pseudo-random (incompressible) bytes.
    pub random: Option<usize>,
    pub symlink: Option<String>,
    pub hardlink: Option<String>,
    #[serde(default)]
    pub chardev: bool,
    /// Repeat the entry this many times.
    pub repeat: Option<usize>,
}

pub enum Kind {
    File(Vec<u8>),
    Symlink(String),
    Hardlink(String),
    CharDevice,
}

impl Entry {
    pub fn file(path: &str, bytes: Vec<u8>) -> (Vec<u8>, Kind) {
        (path.as_bytes().to_vec(), Kind::File(bytes))
    }

    /// The concrete entries this one stands for.
    pub fn expand(&self) -> Vec<(Vec<u8>, Kind)> {
        let kind = || {
            if let Some(target) = &self.symlink {
                Kind::Symlink(target.clone())
            } else if let Some(target) = &self.hardlink {
                Kind::Hardlink(target.clone())
            } else if self.chardev {
                Kind::CharDevice
            } else if let Some(n) = self.zeros {
                Kind::File(vec![0; n])
            } else if let Some(n) = self.random {
                Kind::File(random_bytes(n))
            } else if let Some(json) = &self.json {
                Kind::File(serde_json::to_vec(json).unwrap())
            } else {
                Kind::File(self.text.clone().unwrap_or_default().into_bytes())
            }
        };
        let name = |i: usize| match (&self.path, &self.path_hex) {
            (Some(p), _) => p.replace("{n}", &i.to_string()).into_bytes(),
            (None, Some(hex)) => (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect(),
            (None, None) => panic!("entry needs path or path_hex"),
        };
        (0..self.repeat.unwrap_or(1)).map(|i| (name(i), kind())).collect()
    }
}

/// Deterministic incompressible bytes (xorshift).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A zip written by hand: deflated entries, raw names, Unix modes.
pub fn zip(entries: &[(Vec<u8>, Kind)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, kind) in entries {
        let (data, mode): (Vec<u8>, u32) = match kind {
            Kind::File(bytes) => (bytes.clone(), 0o100644),
            Kind::Symlink(target) => (target.clone().into_bytes(), 0o120777),
            Kind::Hardlink(target) => (target.clone().into_bytes(), 0o100644),
            Kind::CharDevice => (Vec::new(), 0o020644),
        };
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&data).unwrap();
        let compressed = enc.finish().unwrap();
        let offset = out.len() as u32;
        let local = |buf: &mut Vec<u8>, central_header: bool| {
            if central_header {
                buf.extend_from_slice(b"PK\x01\x02");
                buf.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by: Unix
            } else {
                buf.extend_from_slice(b"PK\x03\x04");
            }
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&8u16.to_le_bytes()); // deflate
            buf.extend_from_slice(&0u32.to_le_bytes()); // time + date
            buf.extend_from_slice(&crc.sum().to_le_bytes());
            buf.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
            if central_header {
                buf.extend_from_slice(&0u16.to_le_bytes()); // comment length
                buf.extend_from_slice(&0u16.to_le_bytes()); // disk
                buf.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
                buf.extend_from_slice(&(mode << 16).to_le_bytes()); // external attributes
                buf.extend_from_slice(&offset.to_le_bytes());
            }
            buf.extend_from_slice(name);
        };
        local(&mut out, false);
        out.extend_from_slice(&compressed);
        local(&mut central, true);
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// A gzipped tar with raw header names (at most 100 bytes).
pub fn tar_gz(entries: &[(Vec<u8>, Kind)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (name, kind) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        let data: &[u8] = match kind {
            Kind::File(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                bytes
            }
            Kind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_link_name(target).unwrap();
                &[]
            }
            Kind::Hardlink(target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_link_name(target).unwrap();
                &[]
            }
            Kind::CharDevice => {
                header.set_entry_type(tar::EntryType::Char);
                &[]
            }
        };
        header.set_size(data.len() as u64);
        let field = &mut header.as_old_mut().name;
        assert!(name.len() <= field.len(), "tar test names are at most 100 bytes");
        field[..name.len()].copy_from_slice(name);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A zip of the sample extension at `samples/<name>`, with `edit` applied to its manifest.
pub fn sample_zip(name: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples").join(name);
    let mut files = alga_bundle::pack::files_from_dir(&dir, &Default::default()).unwrap();
    let mut manifest: Value = serde_json::from_slice(&files["manifest.json"].bytes).unwrap();
    edit(&mut manifest);
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec_pretty(&manifest).unwrap()));
    alga_bundle::pack::zip_files(&files, |_, _| {}).unwrap()
}
