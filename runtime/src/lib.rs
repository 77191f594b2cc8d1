//! The Alga extension runtime as a library: configuration, auth, the HTTP app and isolates.
//!
//! The binary (`main.rs`) only parses the command line and calls into these modules, so
//! tests drive the same code in-process.

pub mod auth;
pub mod bundle_cli;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dev;
pub mod diagnostics;
pub mod http;
pub mod isolate;
pub mod logs_cli;
pub mod maintenance;
pub mod metrics;
pub mod page_links;
pub mod pool;
pub mod rate_limit;
pub mod registry;
pub mod scaffold;
pub mod serve;
pub mod simulator;
pub mod telemetry;
pub mod test_api;
pub mod test_runner;
