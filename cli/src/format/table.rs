//! Go's `text/tabwriter` as docker's tables use it (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`):
//! cells end at a tab; every cell of a column is padded to the column's widest cell plus 3, at least
//! 10; the text after a line's last tab is not a cell and is not padded. A column spans the
//! consecutive lines that have it (tabwriter's column blocks).

const MIN_WIDTH: usize = 10;
const PADDING: usize = 3;

pub fn layout(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let widths = column_widths(&lines);
    for (i, cells) in lines.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in cells.iter().enumerate() {
            if c + 1 < cells.len() {
                let w = widths[i][c];
                line.push_str(cell);
                line.push_str(&" ".repeat(w.saturating_sub(cell.chars().count())));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// For each line, the width of each of its cells (all but the last text).
fn column_widths(lines: &[Vec<&str>]) -> Vec<Vec<usize>> {
    let mut widths: Vec<Vec<usize>> = lines
        .iter()
        .map(|l| vec![0; l.len().saturating_sub(1)])
        .collect();
    let columns = widths.iter().map(Vec::len).max().unwrap_or(0);
    for c in 0..columns {
        let mut i = 0;
        while i < lines.len() {
            if widths[i].len() <= c {
                i += 1;
                continue;
            }
            // A block: the consecutive lines that have a cell in column c.
            let start = i;
            let mut w = MIN_WIDTH;
            while i < lines.len() && widths[i].len() > c {
                w = w.max(lines[i][c].chars().count() + PADDING);
                i += 1;
            }
            for row in &mut widths[start..i] {
                row[c] = w;
            }
        }
    }
    widths
}
