//! TypeScript to JavaScript: types stripped with swc, nothing else changed (no down-leveling,
//! no bundling). Done at install to report errors early, and cached by source hash so the
//! module loader never transpiles the same source twice in a process.

use std::sync::{Arc, Mutex, OnceLock};

use swc_common::comments::SingleThreadedComments;
use swc_common::sync::Lrc;
use swc_common::{FileName, Globals, Mark, SourceMap, Spanned, GLOBALS};
use swc_ecma_ast::{EsVersion, Program};
use swc_ecma_codegen::text_writer::JsWriter;
use swc_ecma_codegen::Emitter;
use swc_ecma_parser::{parse_file_as_module, Syntax, TsSyntax};

use crate::SourceProblem;

/// Transpiled sources by sha256 of the TypeScript source (bounded by entry count).
fn cache() -> &'static Mutex<std::collections::HashMap<String, Arc<str>>> {
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, Arc<str>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

const MAX_CACHED: usize = 4096;

/// JavaScript for a TypeScript module, from the cache when this source was seen before.
pub fn transpile_cached(path: &str, source: &str, sha256: &str) -> Result<Arc<str>, Vec<SourceProblem>> {
    if let Some(js) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(sha256) {
        return Ok(js.clone());
    }
    let js: Arc<str> = transpile(path, source)?.into();
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(sha256.to_owned(), js.clone());
    Ok(js)
}

/// Strips TypeScript syntax from one module. Runs on the big-stack analysis thread.
pub fn transpile(path: &str, source: &str) -> Result<String, Vec<SourceProblem>> {
    let (path, source) = (path.to_owned(), source.to_owned());
    let worker = std::thread::Builder::new()
        .name("ts-transpile".into())
        .stack_size(crate::js::ANALYSIS_STACK_BYTES)
        .spawn(move || transpile_here(&path, source));
    match worker.map(|h| h.join()) {
        Ok(Ok(result)) => result,
        _ => Err(vec![SourceProblem { file: String::new(), line: 1, column: 1, message: "module could not be transpiled".into() }]),
    }
}

fn transpile_here(path: &str, source: String) -> Result<String, Vec<SourceProblem>> {
    let cm: Lrc<SourceMap> = Default::default();
    let fm = cm.new_source_file(FileName::Custom(path.to_owned()).into(), source);
    let comments = SingleThreadedComments::default();
    let problem = |span: swc_common::Span, message: String| {
        let loc = cm.lookup_char_pos(span.lo);
        SourceProblem { file: path.to_owned(), line: loc.line, column: loc.col.0 + 1, message }
    };
    let mut recovered = Vec::new();
    let module = parse_file_as_module(&fm, Syntax::Typescript(TsSyntax::default()), EsVersion::latest(), Some(&comments), &mut recovered)
        .map_err(|e| vec![problem(e.span(), e.into_kind().msg().into_owned())])?;
    if !recovered.is_empty() {
        return Err(recovered.into_iter().map(|e| problem(e.span(), e.into_kind().msg().into_owned())).collect());
    }
    GLOBALS.set(&Globals::new(), || {
        let unresolved = Mark::new();
        let top_level = Mark::new();
        let mut program = Program::Module(module);
        program.mutate(swc_ecma_transforms_base::resolver(unresolved, top_level, true));
        program.mutate(swc_ecma_transforms_typescript::strip(unresolved, top_level));
        let mut out = Vec::new();
        let mut mappings = Vec::new();
        {
            let mut emitter = Emitter {
                cfg: swc_ecma_codegen::Config::default().with_target(EsVersion::latest()),
                cm: cm.clone(),
                comments: Some(&comments),
                wr: JsWriter::new(cm.clone(), "\n", &mut out, Some(&mut mappings)),
            };
            emitter
                .emit_program(&program)
                .map_err(|e| vec![SourceProblem { file: path.to_owned(), line: 1, column: 1, message: format!("cannot emit JavaScript: {e}") }])?;
        }
        let mut js = String::from_utf8(out).map_err(|e| vec![SourceProblem { file: path.to_owned(), line: 1, column: 1, message: e.to_string() }])?;
        // An inline source map: stack traces then name lines and columns of the author's
        // TypeScript, not of the stripped JavaScript (deno_core applies it).
        let mut map = Vec::new();
        if cm.build_source_map(&mappings, None, swc_common::source_map::DefaultSourceMapGenConfig).to_writer(&mut map).is_ok() {
            use base64::Engine as _;
            js.push_str("\n//# sourceMappingURL=data:application/json;base64,");
            js.push_str(&base64::engine::general_purpose::STANDARD.encode(&map));
            js.push('\n');
        }
        Ok(js)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_stripped_and_code_kept() {
        let ts = "import type { T } from './t.ts';\ninterface Tag { name: string }\nexport enum Color { Red = 1 }\n\
                  export function hello(req: { id: string }, ctx: unknown): { body: Tag } {\n  const n: number = 1 as number;\n  return { body: { name: req.id + n } };\n}\n";
        let js = transpile("index.ts", ts).unwrap();
        assert!(!js.contains("interface") && !js.contains(": string") && !js.contains("import type"), "{js}");
        assert!(js.contains("export function hello(req, ctx)"), "{js}");
        assert!(js.contains("Color"), "enums become code: {js}");
        assert!(js.contains("//# sourceMappingURL=data:application/json;base64,"), "{js}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = transpile("src/a.ts", "const x: number = ;\n").unwrap_err();
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("src/a.ts", 1), "{errors:?}");
    }
}
