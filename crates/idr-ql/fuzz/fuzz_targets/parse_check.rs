//! Fuzz target: arbitrary bytes (as UTF-8, lossily) through everything idr-ql does with
//! text — analyze (parse, check, compile), format, render, and completion and hover at a
//! few offsets — asserting that nothing panics, that every span lies within the input on
//! char boundaries, and that formatting is idempotent.

#![no_main]

use std::sync::OnceLock;

use idr_ql::{analyze, complete, format, hover, render, Catalog, Span};
use libfuzzer_sys::fuzz_target;

/// Built once: loading the catalog is not what is being fuzzed.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::bundled)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let catalog = catalog();
    let within = |span: Span| {
        span.start <= span.end
            && span.end <= text.len()
            && text.is_char_boundary(span.start)
            && text.is_char_boundary(span.end)
    };

    let analysis = analyze(text, catalog);
    let diagnostics: Vec<_> = analysis.diagnostics().cloned().collect();
    for d in &diagnostics {
        assert!(within(d.span), "diagnostic span {:?} outside the input", d.span);
        assert!(d.labels.iter().all(|(span, _)| within(*span)));
    }
    for q in &analysis.queries {
        assert_eq!(q.compiled.is_some(), !q.has_errors());
    }
    let _ = render(&diagnostics, "fuzz.idrql", text);

    if let Some(formatted) = format(text) {
        assert_eq!(
            format(&formatted).as_deref(),
            Some(formatted.as_str()),
            "format is not idempotent"
        );
    }

    for offset in [0, text.len() / 3, text.len() / 2, text.len(), text.len() + 1] {
        for item in complete(text, offset, catalog) {
            assert!(within(item.replace));
        }
        if let Some(h) = hover(text, offset, catalog) {
            assert!(within(h.span));
        }
    }
});
