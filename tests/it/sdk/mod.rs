//! The authors' SDK: the `@alga/sdk` module against its typings and reference, and what a
//! thrown `HttpError` or an uncaught exception answers over real HTTP.

mod errors;
mod typings;
