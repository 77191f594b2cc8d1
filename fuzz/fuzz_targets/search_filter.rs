//! Fuzz target: storage search filters as an extension passes them (`[{ path, op, value }]`,
//! here as JSON) through `parse_filters` and both backends' statement builders. Besides not
//! crashing, the SQL must depend only on the filters' shape: paths and values are always
//! bound, never spliced into the statement.
#![no_main]

use alga_store::checks::{parse_filters, FilterArg};
use alga_store::{search_statements, Filter};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The same filters with every path segment and every string or number replaced by a fixed
/// one of its kind: what the statement may depend on, and nothing more.
fn shape(filters: &[Filter]) -> Vec<Filter> {
    filters
        .iter()
        .map(|f| Filter {
            path: vec!["x".to_owned(); f.path.len()],
            op: f.op,
            value: match &f.value {
                Value::String(_) => Value::from("s"),
                Value::Number(_) => Value::from(0),
                other => other.clone(),
            },
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(args) = serde_json::from_slice::<Vec<FilterArg>>(data) else { return };
    let Ok(filters) = parse_filters(args) else { return };
    match search_statements(&filters, None, 100) {
        Ok(statements) => {
            let shaped = search_statements(&shape(&filters), None, 100).expect("the shape of accepted filters is accepted");
            assert_eq!(statements, shaped, "the statement depends on more than the filters' shape");
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
