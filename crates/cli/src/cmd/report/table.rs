//! Tables for a terminal: aligned columns that fit a width (the least needed columns
//! left out first, then the first column shortened), money and counts written for
//! people, and colour when asked. Knows nothing of where the figures come from.

use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// A column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its header.
    pub header: String,
    /// Numbers are right-aligned.
    pub numeric: bool,
    /// When the table is too wide, the column with the highest rank is left out first;
    /// rank 0 is never left out.
    pub drop_rank: u8,
}

impl Column {
    /// A column of text, never left out.
    pub fn key(header: &str) -> Column {
        Column {
            header: header.to_owned(),
            numeric: false,
            drop_rank: 0,
        }
    }

    /// A column of text left out at `drop_rank` when the table is too wide.
    pub fn text(header: &str, drop_rank: u8) -> Column {
        Column {
            header: header.to_owned(),
            numeric: false,
            drop_rank,
        }
    }

    /// A column of numbers left out at `drop_rank` (0: never).
    pub fn number(header: &str, drop_rank: u8) -> Column {
        Column {
            header: header.to_owned(),
            numeric: true,
            drop_rank,
        }
    }
}

/// How a line is shown on a terminal that takes colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emphasis {
    /// As it is.
    Plain,
    /// Bold: headers and totals.
    Strong,
    /// Dimmed: the rows inside a row.
    Faint,
}

/// One line of a table: a cell for each column.
#[derive(Debug, Clone)]
pub struct Line {
    /// The cells, one per column.
    pub cells: Vec<String>,
    /// How it is shown.
    pub emphasis: Emphasis,
}

/// The narrowest the first column is shortened to.
const KEY_MIN: usize = 8;
const GAP: &str = "  ";

/// The table as text, at most `width` characters a line when given, in colour when
/// `colour`. Too wide, it leaves columns out by rank, then shortens the last column of
/// text that is never left out (to no less than 8 characters: a line may then still
/// exceed `width`).
pub fn render(columns: &[Column], lines: &[Line], width: Option<usize>, colour: bool) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header.width()).collect();
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(&line.cells) {
            *w = (*w).max(cell.width());
        }
    }
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let total = |shown: &[usize], widths: &[usize]| -> usize {
        shown.iter().map(|&i| widths[i]).sum::<usize>() + GAP.len() * shown.len().saturating_sub(1)
    };
    if let Some(width) = width {
        while total(&shown, &widths) > width {
            let Some((at, _)) = shown
                .iter()
                .enumerate()
                .filter(|(_, i)| columns[**i].drop_rank > 0)
                .max_by_key(|(_, i)| columns[**i].drop_rank)
            else {
                break;
            };
            shown.remove(at);
        }
        let over = total(&shown, &widths).saturating_sub(width);
        let key = shown
            .iter()
            .rev()
            .find(|&&i| !columns[i].numeric && columns[i].drop_rank == 0);
        if let (true, Some(&key)) = (over > 0, key) {
            widths[key] = widths[key]
                .saturating_sub(over)
                .max(KEY_MIN.min(widths[key]));
        }
    }
    let mut out = String::new();
    let header = Line {
        cells: columns.iter().map(|c| c.header.clone()).collect(),
        emphasis: Emphasis::Strong,
    };
    for line in std::iter::once(&header).chain(lines) {
        let parts: Vec<String> = shown
            .iter()
            .map(|&i| {
                let cell = shorten(line.cells.get(i).map_or("", String::as_str), widths[i]);
                // Padded by the columns the text takes on a terminal, not its chars.
                let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
                if columns[i].numeric {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        let text = parts.join(GAP);
        let text = text.trim_end();
        let _ = match (colour, line.emphasis) {
            (true, Emphasis::Strong) => writeln!(out, "\x1b[1m{text}\x1b[0m"),
            (true, Emphasis::Faint) => writeln!(out, "\x1b[2m{text}\x1b[0m"),
            _ => writeln!(out, "{text}"),
        };
    }
    out
}

/// `text` in at most `width` terminal columns, an ellipsis marking what was cut.
fn shorten(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        used += w;
        kept.push(c);
    }
    format!("{kept}…")
}

/// A whole number with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// US dollars to the cent with thousands separators: `$1,234.57`.
pub fn money(usd: f64) -> String {
    let cents = (usd * 100.0).round();
    let sign = if cents < 0.0 { "-" } else { "" };
    // Cost is never near u64's range; saturating is the honest fallback.
    let cents = cents.abs() as u64;
    format!("{sign}${}.{:02}", count(cents / 100), cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_money_read_like_a_bill() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(0.046_367_85), "$0.05");
        assert_eq!(money(1_234.565_1), "$1,234.57");
        assert_eq!(money(-2.5), "-$2.50");
    }

    #[test]
    fn a_narrow_width_leaves_out_the_highest_ranks_then_shortens_the_key() {
        let columns = [
            Column::key("name"),
            Column::number("a", 2),
            Column::number("b", 1),
            Column::number("cost", 0),
        ];
        let lines = [Line {
            cells: ["a-rather-long-name", "1,000", "2,000", "$3.00"]
                .map(str::to_owned)
                .to_vec(),
            emphasis: Emphasis::Plain,
        }];
        let wide = render(&columns, &lines, None, false);
        assert_eq!(
            wide,
            "name                    a      b   cost\na-rather-long-name  1,000  2,000  $3.00\n"
        );
        let narrower = render(&columns, &lines, Some(34), false);
        assert_eq!(
            narrower,
            "name                    b   cost\na-rather-long-name  2,000  $3.00\n"
        );
        let narrow = render(&columns, &lines, Some(20), false);
        assert_eq!(narrow, "name            cost\na-rather-lon…  $3.00\n");
        assert!(narrow.lines().all(|l| l.chars().count() <= 20));
        let coloured = render(&columns, &lines, None, true);
        assert!(coloured.starts_with("\x1b[1mname"), "{coloured:?}");
    }

    #[test]
    fn wide_characters_take_two_columns_in_alignment_and_in_fitting() {
        let columns = [Column::key("user"), Column::number("cost", 0)];
        let line = |name: &str, cost: &str| Line {
            cells: vec![name.to_owned(), cost.to_owned()],
            emphasis: Emphasis::Plain,
        };
        let lines = [line("陈伟", "$1.00"), line("ana", "$12.00")];
        let table = render(&columns, &lines, None, false);
        assert_eq!(table, "user    cost\n陈伟   $1.00\nana   $12.00\n");
        let long = [line("渡辺さくらこ", "$1.00")];
        let narrow = render(&columns, &long, Some(16), false);
        assert!(narrow.lines().all(|l| l.width() <= 16), "{narrow}");
        assert_eq!(narrow, "user        cost\n渡辺さく…  $1.00\n");
    }
}
