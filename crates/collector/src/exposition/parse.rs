//! Parsing the Prometheus text format (what clients push to a Pushgateway).

use super::{Kind, Labels};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's name (`x_bucket`, `x_sum`, …).
    pub name: String,
    /// Its labels, in the order written.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// A timestamp, if one was written.
    pub timestamp: Option<i64>,
}

/// A parsed metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    /// Family name (for counters in text format, including `_total`).
    pub name: String,
    /// HELP text, unescaped; empty when none was given.
    pub help: String,
    /// Declared type; untyped when none was given.
    pub kind: Kind,
    /// Samples in order.
    pub samples: Vec<Sample>,
}

/// A parse failure, with the line it happened on (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text format parsing error in line {line}: {message}")]
pub struct ParseError {
    /// Line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Whether `name` is a valid metric name.
pub fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a valid label name.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn suffixes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Histogram => &["_bucket", "_sum", "_count"],
        Kind::Summary => &["_sum", "_count"],
        _ => &[],
    }
}

/// Parses a text-format body into families.
pub fn parse_text(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut families: Vec<ParsedFamily> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| ParseError { line, message };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let mut parts = comment.trim_start().splitn(3, char::is_whitespace);
            let keyword = parts.next().unwrap_or("");
            if keyword != "HELP" && keyword != "TYPE" {
                continue;
            }
            let name = parts.next().unwrap_or("");
            if !valid_metric_name(name) {
                return Err(err(format!("invalid metric name {name:?}")));
            }
            let rest = parts.next().unwrap_or("").trim();
            let family = family_for(&mut families, name);
            if keyword == "HELP" {
                family.help = unescape_help(rest);
            } else {
                family.kind = Kind::from_name(rest)
                    .ok_or_else(|| err(format!("unknown metric type {rest:?}")))?;
                if !family.samples.is_empty() {
                    return Err(err(format!("TYPE of {name} after its samples")));
                }
            }
            continue;
        }
        let sample = parse_sample(trimmed).map_err(err)?;
        // A sample belongs to the family it names, directly or with a type suffix.
        let owner = families.iter().rposition(|f| {
            f.name == sample.name
                || suffixes(f.kind)
                    .iter()
                    .any(|s| sample.name.strip_suffix(s) == Some(f.name.as_str()))
        });
        let kind = owner.map_or(Kind::Untyped, |at| families[at].kind);
        check_bound_labels(kind, &sample.labels).map_err(err)?;
        match owner {
            Some(at) => families[at].samples.push(sample),
            None => {
                let family = family_for(&mut families, &sample.name.clone());
                family.samples.push(sample);
            }
        }
    }
    Ok(families)
}

/// A histogram's `le` and a summary's `quantile` are numbers, as the Pushgateway's
/// parser requires (anything else breaks whoever reads the exposition).
fn check_bound_labels(kind: Kind, labels: &Labels) -> Result<(), String> {
    let bound = match kind {
        Kind::Histogram => "le",
        Kind::Summary => "quantile",
        _ => return Ok(()),
    };
    match labels.iter().find(|(name, _)| name == bound) {
        Some((_, value)) if parse_float(value).is_none() => Err(format!(
            "expected float as value for '{bound}' label, got {value:?}"
        )),
        _ => Ok(()),
    }
}

fn family_for<'a>(families: &'a mut Vec<ParsedFamily>, name: &str) -> &'a mut ParsedFamily {
    let at = match families.iter().position(|f| f.name == name) {
        Some(at) => at,
        None => {
            families.push(ParsedFamily {
                name: name.to_owned(),
                help: String::new(),
                kind: Kind::Untyped,
                samples: Vec::new(),
            });
            families.len() - 1
        }
    };
    &mut families[at]
}

fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let consumed: usize;
        loop {
            while chars
                .peek()
                .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
            {
                chars.next();
            }
            match chars.peek() {
                Some((at, '}')) => {
                    consumed = at + 1;
                    break;
                }
                None => return Err("unterminated label set".to_owned()),
                _ => {}
            }
            let mut label = String::new();
            while let Some((_, c)) = chars.peek() {
                if *c == '=' || c.is_whitespace() {
                    break;
                }
                label.push(*c);
                chars.next();
            }
            while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('=') {
                return Err(format!("expected '=' after label name {label:?}"));
            }
            if !valid_label_name(&label) {
                return Err(format!("invalid label name {label:?}"));
            }
            if label == "__name__" {
                return Err("label name \"__name__\" is reserved".to_owned());
            }
            while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!(
                    "expected '\"' to start the value of label {label:?}"
                ));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, other)) => {
                            return Err(format!("invalid escape \\{other} in label value"));
                        }
                        None => return Err("unterminated label value".to_owned()),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".to_owned()),
                }
            }
            if labels.iter().any(|(existing, _)| *existing == label) {
                return Err(format!("duplicate label {label:?}"));
            }
            labels.push((label, value));
        }
        rest = &after[consumed..];
    }
    let mut fields = rest.split_whitespace();
    let value_text = fields.next().ok_or("missing value")?;
    let value = parse_float(value_text)
        .ok_or_else(|| format!("expected float as value, got {value_text:?}"))?;
    let timestamp = match fields.next() {
        None => None,
        Some(ts) => Some(
            ts.parse::<i64>()
                .map_err(|_| format!("expected integer as timestamp, got {ts:?}"))?,
        ),
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected text after the sample: {extra:?}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
    })
}

/// A float as the text format writes it (`NaN`, `+Inf`, `-Inf`, Go's exponents).
pub fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "+inf" | "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_types() {
        let text = "# HELP x_total Things \\n done.\n# TYPE x_total counter\nx_total{a=\"q\\\"\",b=\"\"} 3\n\
                    # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\nloose 1e3\n";
        let families = parse_text(text).unwrap();
        assert_eq!(families.len(), 3);
        assert_eq!(families[0].help, "Things \n done.");
        assert_eq!(families[0].kind, Kind::Counter);
        assert_eq!(
            families[0].samples[0].labels[0],
            ("a".to_owned(), "q\"".to_owned())
        );
        assert_eq!(families[1].kind, Kind::Histogram);
        assert_eq!(families[1].samples.len(), 4);
        assert_eq!(families[2].kind, Kind::Untyped);
        assert_eq!(families[2].samples[0].value, 1000.0);
    }

    #[test]
    fn reserved_names_and_bounds_that_are_not_numbers_are_refused() {
        let refused = |text: &str| parse_text(text).unwrap_err().message;
        assert!(refused("m{__name__=\"x\"} 1\n").contains("reserved"));
        assert!(refused("# TYPE h histogram\nh_bucket{le=\"abc\"} 1\n").contains("'le' label"));
        assert!(refused("# TYPE s summary\ns{quantile=\"half\"} 1\n").contains("'quantile' label"));
        // As the Pushgateway reads them: only a histogram's `le` and a summary's
        // `quantile` are bounds; elsewhere they are labels like any other.
        assert!(parse_text("m{le=\"abc\",quantile=\"x\"} 1\n").is_ok());
        assert!(parse_text("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n").is_ok());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse_text("a 1\nnot valid\n").unwrap_err().line, 2);
        assert!(parse_text("x{a=\"1} 2").is_err());
        assert!(parse_text("x{1a=\"1\"} 2").is_err());
        assert!(parse_text("# TYPE x blob\n").is_err());
        assert_eq!(
            parse_text("x 1 1700000000000\n").unwrap()[0].samples[0].timestamp,
            Some(1_700_000_000_000)
        );
    }
}
