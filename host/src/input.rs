//! Reading the files a user hands the CLI (manifests, scenarios, policy inputs, the registry
//! config) within limits, so that a huge or pathologically nested file is refused at once
//! instead of taking minutes and gigabytes: at most [`DEFAULT_MAX_BYTES`] (10 MiB, or
//! `ALBATROSS_MAX_INPUT_BYTES`) and at most [`DEFAULT_MAX_DEPTH`] levels of nesting (or
//! `ALBATROSS_MAX_INPUT_DEPTH`), counting YAML indentation and `[` / `{` alike.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The largest input read by default, in bytes.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;

/// The deepest nesting read by default. Kubernetes objects nest about 15 levels deep.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// The limits in force: the defaults, or the environment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes.
    pub max_bytes: u64,
    /// Levels of nesting.
    pub max_depth: usize,
}

impl Limits {
    /// The defaults, overridden by `ALBATROSS_MAX_INPUT_BYTES` and `ALBATROSS_MAX_INPUT_DEPTH`.
    pub fn from_env() -> Result<Self> {
        let read = |name: &str| -> Result<Option<u64>> {
            std::env::var(name).ok().map_or(Ok(None), |v| {
                v.trim()
                    .parse()
                    .map(Some)
                    .with_context(|| format!("{name}={v:?} is not a whole number"))
            })
        };
        Ok(Limits {
            max_bytes: read("ALBATROSS_MAX_INPUT_BYTES")?.unwrap_or(DEFAULT_MAX_BYTES),
            max_depth: read("ALBATROSS_MAX_INPUT_DEPTH")?
                .and_then(|d| usize::try_from(d).ok())
                .unwrap_or(DEFAULT_MAX_DEPTH),
        })
    }
}

/// Reads `path` as text within the limits; `what` names it in errors (e.g. `scenario`).
pub fn read_file(path: &Path, what: &str) -> Result<String> {
    let limits = Limits::from_env()?;
    let file =
        std::fs::File::open(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let source = format!("{what} {}", path.display());
    read_limited(file, &source, limits)
}

/// Reads standard input within the limits.
pub fn read_stdin() -> Result<String> {
    read_limited(std::io::stdin(), "standard input", Limits::from_env()?)
}

/// Reads `reader` to its end, or to one byte past the size limit, and checks the nesting.
pub fn read_limited(reader: impl Read, source: &str, limits: Limits) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {source}"))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limits.max_bytes {
        bail!(
            "{source} is larger than {} bytes: refused (ALBATROSS_MAX_INPUT_BYTES raises the limit)",
            limits.max_bytes
        );
    }
    let text = String::from_utf8(bytes).with_context(|| format!("{source} is not UTF-8 text"))?;
    let depth = nesting_depth(&text);
    if depth > limits.max_depth {
        bail!(
            "{source} nests {depth} levels deep, more than {}: refused (ALBATROSS_MAX_INPUT_DEPTH raises the limit)",
            limits.max_depth
        );
    }
    Ok(text)
}

/// How deep `text` nests at its deepest: the indentation levels open on a line (YAML block
/// nesting) plus the brackets open on it (`[`, `{`: flow style and JSON), outside quoted
/// strings (which end with their line here) and comments. An estimate, in one pass over the
/// text.
pub fn nesting_depth(text: &str) -> usize {
    let mut indents: Vec<usize> = Vec::new();
    let mut brackets = 0usize;
    let mut deepest = 0usize;
    for line in text.lines() {
        let mut quote: Option<char> = None;
        let body = line.trim_start();
        if brackets == 0 && !body.is_empty() && !body.starts_with('#') {
            let indent = line.len() - body.len();
            while indents.last().is_some_and(|top| *top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let mut escaped = false;
        for c in body.chars() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && q == '"' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' => quote = Some(c),
                    '#' => break,
                    '[' | '{' => {
                        brackets += 1;
                        deepest = deepest.max(indents.len() + brackets);
                    }
                    ']' | '}' => brackets = brackets.saturating_sub(1),
                    _ => {}
                },
            }
        }
        // A quote left open (an apostrophe in a plain scalar, a rare multi-line quoted
        // scalar) ends with its line, so it can never hide what follows.
        deepest = deepest.max(indents.len() + brackets);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_indentation_and_brackets_but_not_quoted_text() {
        assert_eq!(nesting_depth("a: 1\nb:\n  c:\n    d: 1\n"), 3);
        assert_eq!(nesting_depth("{\"a\": [[1]]}"), 4);
        assert_eq!(nesting_depth("a: \"[[[[\"\nb: '{{{{'\n# [[[[[\n"), 1);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(nesting_depth(&deep), 100_001);
    }

    #[test]
    fn a_big_or_deep_input_is_refused_with_the_limit_named() {
        let limits = Limits {
            max_bytes: 10,
            max_depth: 3,
        };
        let err = read_limited("x".repeat(11).as_bytes(), "scenario s.yaml", limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("scenario s.yaml is larger than 10 bytes"),
            "{err}"
        );
        let err = read_limited("[[[[1]]]]".as_bytes(), "stdin", limits)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nests 5 levels deep, more than 3"), "{err}");
        assert_eq!(
            read_limited("a: [1]".as_bytes(), "stdin", limits).unwrap_or_default(),
            "a: [1]"
        );
    }
}
