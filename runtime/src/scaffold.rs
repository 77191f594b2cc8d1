//! `alga-ext new NAME`: writes a working extension — manifest with `$schema`, handlers, a page with its assets, typings for the editor — from the templates in `js/templates/`.
//
// The templates are compiled in, so `new` works offline and writes exactly what this build
// validates and serves; a test keeps the table below equal to the folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::{NewArgs, TemplateArg};

/// Every template file (path under `js/templates/`, text).
const TEMPLATE_FILES: &[(&str, &str)] = &[
    ("common/.algaignore", include_str!("../../js/templates/common/.algaignore")),
    ("common/.gitignore", include_str!("../../js/templates/common/.gitignore")),
    ("common/README.md", include_str!("../../js/templates/common/README.md")),
    ("common/tsconfig.json", include_str!("../../js/templates/common/tsconfig.json")),
    ("endpoint/manifest.json", include_str!("../../js/templates/endpoint/manifest.json")),
    ("endpoint/src/index.js", include_str!("../../js/templates/endpoint/src/index.js")),
    ("endpoint/src/index.test.js", include_str!("../../js/templates/endpoint/src/index.test.js")),
    ("endpoint/src/index.ts", include_str!("../../js/templates/endpoint/src/index.ts")),
    ("full/manifest.json", include_str!("../../js/templates/full/manifest.json")),
    ("full/src/index.js", include_str!("../../js/templates/full/src/index.js")),
    ("full/src/index.test.js", include_str!("../../js/templates/full/src/index.test.js")),
    ("full/src/index.ts", include_str!("../../js/templates/full/src/index.ts")),
    ("full/ui/app.css", include_str!("../../js/templates/full/ui/app.css")),
    ("full/ui/app.js", include_str!("../../js/templates/full/ui/app.js")),
    ("full/ui/index.html", include_str!("../../js/templates/full/ui/index.html")),
    ("page/manifest.json", include_str!("../../js/templates/page/manifest.json")),
    ("page/src/index.js", include_str!("../../js/templates/page/src/index.js")),
    ("page/src/index.test.js", include_str!("../../js/templates/page/src/index.test.js")),
    ("page/src/index.ts", include_str!("../../js/templates/page/src/index.ts")),
    ("page/ui/app.js", include_str!("../../js/templates/page/ui/app.js")),
    ("page/ui/index.html", include_str!("../../js/templates/page/ui/index.html")),
    ("widget/manifest.json", include_str!("../../js/templates/widget/manifest.json")),
    ("widget/src/index.js", include_str!("../../js/templates/widget/src/index.js")),
    ("widget/src/index.test.js", include_str!("../../js/templates/widget/src/index.test.js")),
    ("widget/src/index.ts", include_str!("../../js/templates/widget/src/index.ts")),
];

/// The typings of `@alga/sdk` (`js/sdk/index.d.ts`), for the editor; `tsconfig.json` maps
/// the module name to this copy.
const SDK_TYPINGS: &str = include_str!("../../js/sdk/index.d.ts");

/// The Page SDK and UI component files a template with a page vendors into `ui/vendor/`.
const VENDORED: &[&str] = &[
    "alga-page.js",
    "alga-ui.js",
    "alga-ui-core.js",
    "alga-ui-data.js",
    "alga-ui-forms.js",
    "alga-ui-select.js",
    "alga-ui-overlays.js",
    "alga-ui.css",
];

impl TemplateArg {
    fn folder(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::Page => "page",
            Self::Widget => "widget",
            Self::Full => "full",
        }
    }

    fn has_page(self) -> bool {
        matches!(self, Self::Page | Self::Full)
    }
}

/// What `new` writes, by path relative to the new extension's folder.
pub fn render(name: &str, id: &str, template: TemplateArg, ts: bool) -> Vec<(String, Vec<u8>)> {
    let main = if ts { "src/index.ts" } else { "src/index.js" };
    let display = display_name(name);
    let fill = |text: &str| text.replace("__ID__", id).replace("__NAME__", &display).replace("__MAIN__", main);
    let mut out = Vec::new();
    for (path, text) in TEMPLATE_FILES {
        let Some((folder, rest)) = path.split_once('/') else { continue };
        if folder != "common" && folder != template.folder() {
            continue;
        }
        // One language: the other's main module and the TypeScript settings stay behind.
        let other_main = if ts { "src/index.js" } else { "src/index.ts" };
        if rest == other_main || (rest == "tsconfig.json" && !ts) {
            continue;
        }
        // Tests stay JavaScript in a TypeScript extension; they import its main module.
        let text = if ts && rest.ends_with(".test.js") { text.replace("\"./index.js\"", "\"./index.ts\"") } else { (*text).to_owned() };
        out.push((rest.to_owned(), fill(&text).into_bytes()));
    }
    let schema = serde_json::to_string_pretty(&alga_bundle::Manifest::json_schema()).unwrap_or_default();
    out.push(("types/manifest.schema.json".into(), schema.into_bytes()));
    out.push(("types/alga-sdk.d.ts".into(), SDK_TYPINGS.as_bytes().to_vec()));
    if template.has_page() {
        for file in VENDORED {
            if let Some(text) = crate::http::sdk_files::text(file) {
                out.push((format!("ui/vendor/{file}"), text.as_bytes().to_vec()));
            }
        }
    }
    out.sort();
    out
}

/// `ticket-checklist` → `Ticket Checklist`.
fn display_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks NAME: it becomes a folder and the last part of the manifest id.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        bail!("NAME {name:?}: use 1-64 lowercase letters, digits and dashes, e.g. ticket-checklist (it names the folder and ends the manifest id)");
    }
    Ok(())
}

pub fn run(args: &NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let id = args.id.clone().unwrap_or_else(|| format!("com.example.{}", args.name));
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty; choose another NAME or --dir", dir.display());
    }
    let files = render(&args.name, &id, args.template, args.ts);
    for (path, bytes) in &files {
        write(&dir, path, bytes)?;
    }
    // What was written must pass the server's checks as it is: prove it before saying so.
    let bundle = alga_bundle::pack::files_from_dir(&dir, &Default::default()).context("reading the new extension back")?;
    if let Err(err) = alga_bundle::inspect_files(bundle, None, &Default::default()) {
        bail!("the generated extension does not validate (a bug in this build's templates): {err}: {}", err.details());
    }
    println!(
        "created {} ({id}, template {}{}) in {}",
        display_name(&args.name),
        args.template.folder(),
        if args.ts { ", TypeScript" } else { "" },
        dir.display()
    );
    for (path, _) in &files {
        println!("  {path}");
    }
    println!("\nnext:\n  cd {}\n  alga-ext validate .\n  alga-ext test .\n  alga-ext dev\n  alga-ext pack . -o {}.zip", dir.display(), args.name);
    Ok(())
}

fn write(dir: &Path, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let target = dir.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&target, bytes).with_context(|| format!("cannot write {}", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_template_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/templates");
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        found.retain(|p| p != "README.md");
        found.sort();
        let listed: Vec<String> = TEMPLATE_FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
        assert_eq!(listed, found, "js/templates/ and TEMPLATE_FILES differ");
    }

    #[test]
    fn names_become_display_names_and_bad_ones_are_refused() {
        assert_eq!(display_name("ticket-checklist"), "Ticket Checklist");
        assert!(check_name("ticket-checklist").is_ok());
        for bad in ["", "Tickets", "a b", "-x", "x-", "../x"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_template_keeps_one_language_and_fills_every_placeholder() {
        for template in [TemplateArg::Endpoint, TemplateArg::Page, TemplateArg::Widget, TemplateArg::Full] {
            for ts in [false, true] {
                let files = render("my-ext", "com.example.my-ext", template, ts);
                let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
                assert!(paths.contains(&if ts { "src/index.ts" } else { "src/index.js" }), "{paths:?}");
                assert!(!paths.contains(&if ts { "src/index.js" } else { "src/index.ts" }), "{paths:?}");
                assert_eq!(paths.contains(&"tsconfig.json"), ts);
                assert_eq!(paths.contains(&"ui/vendor/alga-page.js"), template.has_page());
                assert!(paths.contains(&"types/alga-sdk.d.ts"));
                for (path, bytes) in &files {
                    let text = String::from_utf8_lossy(bytes);
                    assert!(!text.contains("__ID__") && !text.contains("__NAME__") && !text.contains("__MAIN__"), "{path}");
                }
            }
        }
    }
}
