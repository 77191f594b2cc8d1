//! Static analysis of extension modules with swc: syntax errors, imports, exports, and uses
//! of `eval` / `new Function` — all before any code runs.

use std::collections::BTreeSet;

use swc_common::sync::Lrc;
use swc_common::{FileName, SourceMap, Span, Spanned};
use swc_ecma_ast::{CallExpr, Callee, Decl, EsVersion, ExportSpecifier, Expr, Lit, Module, ModuleDecl, ModuleItem, NewExpr, Pat};
use swc_ecma_parser::{parse_file_as_module, EsSyntax, Syntax, TsSyntax};
use swc_ecma_visit::{Visit, VisitWith};

use crate::SourceProblem;

/// Most bracket nesting accepted in a module. Real code stays far below it; hostile code
/// nested deeper could exhaust the analyzer's stack.
pub const MAX_NESTING: usize = 1_000;

/// Stack for the analysis thread: swc's visitors and drops recurse once per nesting level.
pub(crate) const ANALYSIS_STACK_BYTES: usize = 256 * 1024 * 1024;

/// An `import` (static, dynamic with a literal, or `export ... from`) found in a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub specifier: String,
    pub line: usize,
    pub column: usize,
}

/// What a module exposes and needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Names the module exports (`default` for a default export).
    pub exports: BTreeSet<String>,
    /// Specifiers of `export * from "..."`, whose exports count as this module's too.
    pub star_exports: Vec<String>,
    pub imports: Vec<Import>,
    /// Things worth a reviewer's attention that do not block install (eval, new Function,
    /// dynamic imports that cannot be checked).
    pub warnings: Vec<SourceProblem>,
}

/// Whether `path` is a module the isolate may load, by extension.
pub fn is_module_path(path: &str) -> bool {
    [".js", ".mjs", ".ts", ".mts"].iter().any(|ext| path.ends_with(ext))
}

/// Parses one module and collects its imports, exports and warnings. Errors are syntax
/// errors, each located by line and column.
pub fn analyze(path: &str, source: &str) -> Result<ModuleInfo, Vec<SourceProblem>> {
    if let Some((line, column)) = too_deep(source) {
        return Err(vec![SourceProblem { file: path.into(), line, column, message: format!("brackets nest deeper than {MAX_NESTING} levels") }]);
    }
    let (path_owned, source_owned) = (path.to_owned(), source.to_owned());
    let worker = std::thread::Builder::new()
        .name("module-analysis".into())
        .stack_size(ANALYSIS_STACK_BYTES)
        .spawn(move || analyze_on_this_thread(&path_owned, source_owned));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(result)) => result,
        _ => Err(vec![SourceProblem { file: path.into(), line: 1, column: 1, message: "module could not be analyzed".into() }]),
    }
}

fn analyze_on_this_thread(path: &str, source: String) -> Result<ModuleInfo, Vec<SourceProblem>> {
    let cm: Lrc<SourceMap> = Default::default();
    let fm = cm.new_source_file(FileName::Custom(path.to_owned()).into(), source);
    let syntax =
        if path.ends_with(".ts") || path.ends_with(".mts") { Syntax::Typescript(TsSyntax::default()) } else { Syntax::Es(EsSyntax::default()) };
    let locate = |span: Span| {
        let loc = cm.lookup_char_pos(span.lo);
        (loc.line, loc.col.0 + 1)
    };
    let problem = |span: Span, message: String| {
        let (line, column) = locate(span);
        SourceProblem { file: path.to_owned(), line, column, message }
    };

    let mut recovered = Vec::new();
    let parsed = parse_file_as_module(&fm, syntax, EsVersion::latest(), None, &mut recovered);
    let mut errors: Vec<SourceProblem> = recovered.into_iter().map(|e| problem(e.span(), e.into_kind().msg().into_owned())).collect();
    let module = match parsed {
        Ok(module) => module,
        Err(e) => {
            errors.push(problem(e.span(), e.into_kind().msg().into_owned()));
            errors.sort_by_key(|p| (p.line, p.column));
            return Err(errors);
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut info = ModuleInfo::default();
    collect_module_items(&module, &mut info, &locate);
    let mut calls = CallFinder { hits: Vec::new() };
    module.visit_with(&mut calls);
    for (span, finding) in calls.hits {
        match finding {
            Finding::Import(specifier) => {
                let (line, column) = locate(span);
                info.imports.push(Import { specifier, line, column });
            }
            Finding::Warning(message) => info.warnings.push(problem(span, message.into())),
        }
    }
    Ok(info)
}

fn collect_module_items(module: &Module, info: &mut ModuleInfo, locate: &dyn Fn(Span) -> (usize, usize)) {
    let mut import = |specifier: String, span: Span| {
        let (line, column) = locate(span);
        info.imports.push(Import { specifier, line, column });
    };
    let mut exports = BTreeSet::new();
    let mut star_exports = Vec::new();
    for item in &module.body {
        let ModuleItem::ModuleDecl(decl) = item else { continue };
        match decl {
            ModuleDecl::Import(i) if !i.type_only => import(i.src.value.to_string_lossy().into_owned(), i.src.span),
            ModuleDecl::ExportDecl(e) => match &e.decl {
                Decl::Fn(f) => {
                    exports.insert(f.ident.sym.to_string());
                }
                Decl::Class(c) => {
                    exports.insert(c.ident.sym.to_string());
                }
                Decl::Var(v) => {
                    for d in &v.decls {
                        binding_names(&d.name, &mut exports);
                    }
                }
                // Types, interfaces and declarations vanish at run time.
                _ => {}
            },
            ModuleDecl::ExportNamed(n) if !n.type_only => {
                for spec in &n.specifiers {
                    let name = match spec {
                        ExportSpecifier::Named(s) if !s.is_type_only => s.exported.as_ref().unwrap_or(&s.orig).atom().to_string(),
                        ExportSpecifier::Namespace(s) => s.name.atom().to_string(),
                        ExportSpecifier::Default(s) => s.exported.sym.to_string(),
                        _ => continue,
                    };
                    exports.insert(name);
                }
                if let Some(src) = &n.src {
                    import(src.value.to_string_lossy().into_owned(), src.span);
                }
            }
            ModuleDecl::ExportDefaultDecl(_) | ModuleDecl::ExportDefaultExpr(_) => {
                exports.insert("default".into());
            }
            ModuleDecl::ExportAll(a) if !a.type_only => {
                let specifier = a.src.value.to_string_lossy().into_owned();
                star_exports.push(specifier.clone());
                import(specifier, a.src.span);
            }
            _ => {}
        }
    }
    info.exports = exports;
    info.star_exports = star_exports;
}

/// Names bound by a declaration pattern (`const { a, b: [c] } = ...` binds a and c).
fn binding_names(pat: &Pat, out: &mut BTreeSet<String>) {
    match pat {
        Pat::Ident(i) => {
            out.insert(i.id.sym.to_string());
        }
        Pat::Array(a) => a.elems.iter().flatten().for_each(|p| binding_names(p, out)),
        Pat::Object(o) => {
            for prop in &o.props {
                match prop {
                    swc_ecma_ast::ObjectPatProp::KeyValue(kv) => binding_names(&kv.value, out),
                    swc_ecma_ast::ObjectPatProp::Assign(a) => {
                        out.insert(a.key.sym.to_string());
                    }
                    swc_ecma_ast::ObjectPatProp::Rest(r) => binding_names(&r.arg, out),
                }
            }
        }
        Pat::Rest(r) => binding_names(&r.arg, out),
        Pat::Assign(a) => binding_names(&a.left, out),
        _ => {}
    }
}

enum Finding {
    Import(String),
    Warning(&'static str),
}

/// Finds dynamic imports and calls that evaluate strings as code.
struct CallFinder {
    hits: Vec<(Span, Finding)>,
}

impl Visit for CallFinder {
    fn visit_call_expr(&mut self, call: &CallExpr) {
        match &call.callee {
            Callee::Import(_) => match call.args.first().map(|a| &*a.expr) {
                Some(Expr::Lit(Lit::Str(s))) => self.hits.push((s.span, Finding::Import(s.value.to_string_lossy().into_owned()))),
                _ => self.hits.push((call.span, Finding::Warning("dynamic import() with a computed specifier cannot be checked at install"))),
            },
            Callee::Expr(callee) => match &**callee {
                Expr::Ident(i) if &*i.sym == "eval" => self.hits.push((call.span, Finding::Warning("uses eval()"))),
                Expr::Ident(i) if &*i.sym == "Function" => {
                    self.hits.push((call.span, Finding::Warning("uses Function() to build code from a string")))
                }
                _ => {}
            },
            Callee::Super(_) => {}
        }
        call.visit_children_with(self);
    }

    fn visit_new_expr(&mut self, new: &NewExpr) {
        if let Expr::Ident(i) = &*new.callee {
            if &*i.sym == "Function" {
                self.hits.push((new.span, Finding::Warning("uses new Function() to build code from a string")));
            }
        }
        new.visit_children_with(self);
    }
}

/// Where brackets first nest deeper than [`MAX_NESTING`], as (line, column).
fn too_deep(source: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    for ch in source.chars() {
        column += 1;
        match ch {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((line, column));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => {
                line += 1;
                column = 0;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_exports_of_every_form() {
        let src = r#"
            export function a() {}
            export async function b() {}
            export const c = 1, { d, e: [f] } = {};
            export class G {}
            const h = 1; export { h, h as i };
            export default function () {}
            export * from "./more.js";
            export { j } from "./j.js";
        "#;
        let info = analyze("index.js", src).unwrap();
        let names: Vec<&str> = info.exports.iter().map(String::as_str).collect();
        assert_eq!(names, ["G", "a", "b", "c", "d", "default", "f", "h", "i", "j"]);
        assert_eq!(info.star_exports, ["./more.js"]);
        let imports: Vec<&str> = info.imports.iter().map(|i| i.specifier.as_str()).collect();
        assert_eq!(imports, ["./more.js", "./j.js"]);
    }

    #[test]
    fn typescript_type_exports_are_not_runtime_exports() {
        let src = "export interface T { a: number }\nexport type U = string;\nexport const v: number = 1;\nimport type { W } from 'types';";
        let info = analyze("main.ts", src).unwrap();
        assert_eq!(info.exports.iter().collect::<Vec<_>>(), ["v"]);
        assert!(info.imports.is_empty(), "type-only imports vanish at run time");
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = analyze("src/bad.js", "const ok = 1;\nfunction (\n").unwrap_err();
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("src/bad.js", 2), "{errors:?}");
    }

    #[test]
    fn eval_new_function_and_dynamic_imports_are_found() {
        let src = "eval('1');\nconst f = new Function('return 1');\nawait import('./lazy.js');\nimport(name);";
        let info = analyze("index.js", src).unwrap();
        let lines: Vec<usize> = info.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [1, 2, 4], "{:?}", info.warnings);
        assert_eq!(info.imports[0].specifier, "./lazy.js");
        assert_eq!((info.imports[0].line, info.imports[0].column), (3, 14));
    }

    #[test]
    fn hostile_nesting_is_refused_without_crashing() {
        let deep = format!("const x = {}1{};", "(".repeat(100_000), ")".repeat(100_000));
        let errors = analyze("index.js", &deep).unwrap_err();
        assert!(errors[0].message.contains("nest deeper"), "{errors:?}");
        let long_chain = format!("export const x = {}1;", "1 + ".repeat(200_000));
        assert!(analyze("index.js", &long_chain).is_ok());
    }
}
