//! Messages on stderr in rustc's shape: `file:line:col: error: message`, the offending line
//! quoted with a caret under the column, and a `= hint:` when there is a fix to suggest.
//! Warnings look the same. Colour only when stderr is a terminal (and NO_COLOR is unset).

use anstyle::{AnsiColor, Style};

use crate::error::Error;
use crate::load::Warning;

/// Past this many warnings the rest are counted, not printed: a generated net can have
/// thousands of unknown fields, and the JSON report lists them all anyway.
pub const MAX_WARNINGS: usize = 20;

/// Finds the text of a line of a file (the command line's reader: it knows stdin is gone).
pub type SourceLine = fn(&str, u32) -> Option<String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Option<String>,
    /// Line and column, from 1.
    pub pos: Option<(u32, u32)>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn from_error(e: &Error) -> Diagnostic {
        let (file, pos) = match e.location() {
            Some((file, pos)) => (Some(file), pos.map(|p| (p.line, p.col))),
            None => (None, None),
        };
        Diagnostic {
            severity: Severity::Error,
            file,
            pos,
            message: e.to_string(),
            hint: e.hint().map(str::to_string),
        }
    }

    pub fn from_warning(w: &Warning) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            file: Some(w.file.clone()),
            pos: (w.line > 0).then_some((w.line, w.col)),
            message: w.message.clone(),
            hint: None,
        }
    }

    /// The message, quoting the line `source_line(file, line)` gives.
    pub fn render(&self, color: bool, source_line: SourceLine) -> String {
        let quoted = match (&self.file, self.pos) {
            (Some(file), Some((line, _))) => source_line(file, line),
            _ => None,
        };
        self.render_with_source(quoted.as_deref(), color)
    }

    /// The message, quoting `line` (the text of the line `pos` points into) when given.
    pub fn render_with_source(&self, line: Option<&str>, color: bool) -> String {
        let paint = |style: Style, text: &str| {
            if color {
                format!("{}{text}{}", style.render(), style.render_reset())
            } else {
                text.to_string()
            }
        };
        let (label, accent) = match self.severity {
            Severity::Error => ("error", AnsiColor::Red),
            Severity::Warning => ("warning", AnsiColor::Yellow),
        };
        let accent = Style::new().bold().fg_color(Some(accent.into()));
        let bold = Style::new().bold();
        let gutter_style = Style::new().bold().fg_color(Some(AnsiColor::Blue.into()));

        let place = match (&self.file, self.pos) {
            (Some(file), Some((line, col))) => format!("{file}:{line}:{col}"),
            (Some(file), None) => file.clone(),
            (None, _) => "caffe-mem".to_string(),
        };
        let mut out = format!(
            "{}: {}{} {}\n",
            paint(bold, &place),
            paint(accent, label),
            paint(bold, ":"),
            paint(bold, &self.message)
        );
        if let (Some(text), Some((line, col))) = (line, self.pos) {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            // Tabs stay tabs so that the caret lands under the column on any tab width.
            let before_caret: String = text
                .chars()
                .take(col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let bar = paint(gutter_style, "|");
            out.push_str(&format!("{pad} {bar}\n"));
            out.push_str(&format!("{} {bar} {text}\n", paint(gutter_style, &number)));
            out.push_str(&format!(
                "{pad} {bar} {before_caret}{}\n",
                paint(accent, "^")
            ));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!(
                "  {} {h}\n",
                paint(
                    Style::new().bold().fg_color(Some(AnsiColor::Cyan.into())),
                    "= hint:"
                )
            ));
        }
        out
    }
}

/// The warnings (at most `MAX_WARNINGS`, then a count of the rest), rendered.
pub fn warnings(warnings: &[Warning], color: bool, source_line: SourceLine) -> String {
    let mut text = String::new();
    for w in warnings.iter().take(MAX_WARNINGS) {
        text.push_str(&Diagnostic::from_warning(w).render(color, source_line));
    }
    if warnings.len() > MAX_WARNINGS {
        text.push_str(&format!(
            "caffe-mem: {} more warnings (the JSON report lists every one)\n",
            warnings.len() - MAX_WARNINGS
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(severity: Severity) -> Diagnostic {
        Diagnostic {
            severity,
            file: Some("net.prototxt".into()),
            pos: Some((3, 9)),
            message: "unknown field 'foo'".into(),
            hint: Some("use --input data=1,3,224,224".into()),
        }
    }

    #[test]
    fn quotes_the_line_with_a_caret_under_the_column() {
        let text = sample(Severity::Error).render_with_source(Some("layer { foo: 1 }"), false);
        assert_eq!(
            text,
            "net.prototxt:3:9: error: unknown field 'foo'\n  |\n3 | layer { foo: 1 }\n  |         ^\n  = hint: use --input data=1,3,224,224\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = sample(Severity::Warning).render_with_source(None, false);
        assert!(!plain.contains('\x1b'));
        assert!(plain.starts_with("net.prototxt:3:9: warning: "));
        let colored = sample(Severity::Warning).render_with_source(None, true);
        assert!(colored.contains("\x1b["));
    }
}
