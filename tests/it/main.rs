//! The one integration-test binary: every module drives real parts (V8, PostgreSQL, SQLite, HTTP).
//!
//! PostgreSQL is expected at `ALGA_EXT_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test creates its own database there and
//! drops it afterwards, so tests run in parallel without colliding. Tests fail, never skip,
//! when PostgreSQL is unreachable.

mod approvals;
mod archives;
mod bad_bundles;
mod cli;
mod cluster;
mod console;
mod dispatch;
mod doc_commands;
mod fairness;
mod faults;
mod fetch;
mod host_api;
mod host_auth;
mod host_limits;
mod hostile;
mod http;
mod http_hardening;
mod install;
mod isolate;
mod kv_conformance;
mod logs;
mod nul_inputs;
mod openapi;
mod openapi_bodies;
mod rls;
mod role_conformance;
mod roles;
mod samples;
mod sdk;
mod serve_process;
mod simulator;
mod storage_admin;
mod storage_ops;
mod store_conformance;
mod support;
mod test_cmd;
mod ui_assets;
mod ui_sdk;
mod ui_surface;
mod web_apis;
mod wire;
