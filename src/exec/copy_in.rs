//! `COPY … FROM STDIN`, staged: the client's data goes to a file under `tmp/` as it arrives
//! (PostgreSQL's text format is turned into CSV on the way), and when the client says it is done
//! the storage layer loads the file into the table in one atomic write. A COPY that fails or is
//! abandoned leaves the table as it was and its staging file gone.

use std::path::PathBuf;
use std::time::Instant;

use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result, SqlState};
use crate::gateway::copy::{CopyFormat, CopyInPlan};
use crate::storage::loads::{ColumnBinding, CsvOptions, Dedup, LoadRequest, LoadSource, SourceFormat};

/// Bytes of CSV data kept to find an end-of-data line: `\.` after a newline, with its own.
const TAIL: usize = 8;

/// The length of PostgreSQL's end-of-data line (`\.`, with or without its line end) that ends
/// data whose last bytes are `tail`, `total` long in all; 0 when it does not end so.
fn end_marker_len(tail: &[u8], total: u64) -> usize {
    for marker in [&b"\\.\r\n"[..], b"\\.\n", b"\\."] {
        if let Some(before) = tail.len().checked_sub(marker.len())
            && tail.ends_with(marker)
            && (if before == 0 { total == marker.len() as u64 } else { tail[before - 1] == b'\n' })
        {
            return marker.len();
        }
    }
    0
}

/// The longest line of COPY text data held while it arrives.
const MAX_LINE: usize = 64 << 20;

/// Rewrites PostgreSQL's COPY text format as CSV, line by line across chunk boundaries:
/// `\N` (the NULL marker) becomes an empty unquoted field, every other value is unescaped and
/// quoted, so empty strings and NULLs stay apart.
struct TextToCsv {
    delimiter: u8,
    null: Vec<u8>,
    skip_header: bool,
    partial: Vec<u8>,
    ended: bool,
}

impl TextToCsv {
    pub(super) fn new(format: &CopyFormat) -> TextToCsv {
        TextToCsv {
            delimiter: format.delimiter as u8,
            null: format.null.as_bytes().to_vec(),
            skip_header: format.header,
            partial: Vec::new(),
            ended: false,
        }
    }

    /// Converts the complete lines of `chunk` (keeping a trailing partial line for later).
    /// Only the new bytes are scanned: a line sent one byte per message costs its length, not
    /// its length squared (attacker review). A line longer than [`MAX_LINE`] is refused.
    pub(super) fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(&rest[..end], out);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.line(&line, out);
            }
            rest = &rest[end + 1..];
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            return Err(Error::sql(
                SqlState::ProgramLimitExceeded,
                format!("a line of COPY data is longer than {} MiB", MAX_LINE >> 20),
            ));
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Converts what is left (a last line without a newline).
    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            self.line(&rest, out);
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.ended {
            return;
        }
        if line == b"\\." {
            self.ended = true;
            return;
        }
        if self.skip_header {
            self.skip_header = false;
            return;
        }
        for (i, field) in split_fields(line, self.delimiter).into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if field == self.null.as_slice() {
                continue;
            }
            out.push(b'"');
            let mut bytes = field.iter().copied().peekable();
            while let Some(b) = bytes.next() {
                let b = if b == b'\\' {
                    match bytes.next() {
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(b'b') => 0x08,
                        Some(b'f') => 0x0c,
                        Some(b'v') => 0x0b,
                        Some(d @ b'0'..=b'7') => {
                            let mut value = u32::from(d - b'0');
                            for _ in 0..2 {
                                match bytes.peek() {
                                    Some(&n @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(n - b'0');
                                        bytes.next();
                                    }
                                    _ => break,
                                }
                            }
                            value as u8
                        }
                        Some(b'x') => {
                            let mut value = 0u32;
                            let mut digits = 0;
                            while digits < 2 {
                                match bytes.peek().and_then(|n| (*n as char).to_digit(16)) {
                                    Some(d) => {
                                        value = value * 16 + d;
                                        bytes.next();
                                        digits += 1;
                                    }
                                    None => break,
                                }
                            }
                            if digits == 0 { b'x' } else { value as u8 }
                        }
                        Some(other) => other,
                        None => b'\\',
                    }
                } else {
                    b
                };
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        out.push(b'\n');
    }
}

/// Splits a text-format line at unescaped delimiters.
fn split_fields(line: &[u8], delimiter: u8) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'\\' {
            i += 2;
            continue;
        }
        if line[i] == delimiter {
            fields.push(&line[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    fields.push(&line[start.min(line.len())..]);
    fields
}

/// A `COPY … FROM STDIN` between its CopyInResponse and the client's CopyDone.
pub struct CopyIn {
    plan: CopyInPlan,
    search_path: Vec<String>,
    path: PathBuf,
    file: Option<tokio::io::BufWriter<tokio::fs::File>>,
    converter: Option<TextToCsv>,
    scratch: Vec<u8>,
    pub bytes: u64,
    /// The most bytes this COPY may send (the largest file the server accepts).
    max_bytes: u64,
    /// The last bytes of CSV data (for its end-of-data line, see [`end_marker_len`]).
    tail: Vec<u8>,
    /// The first failure while staging; reported at CopyDone.
    failed: Option<Error>,
    pub started: Instant,
}

impl CopyIn {
    pub async fn start(
        plan: CopyInPlan,
        search_path: Vec<String>,
        tmp_dir: &std::path::Path,
        max_bytes: u64,
    ) -> Result<CopyIn> {
        let path = tmp_dir.join(format!("copy-{:016x}.csv", rand::random::<u64>()));
        let file = tokio::fs::File::create(&path).await.map_err(|e| Error::internal("staging COPY data", e))?;
        let converter = (!plan.format.csv).then(|| TextToCsv::new(&plan.format));
        Ok(CopyIn {
            plan,
            search_path,
            path,
            file: Some(tokio::io::BufWriter::with_capacity(1 << 20, file)),
            converter,
            scratch: Vec::new(),
            bytes: 0,
            max_bytes,
            tail: Vec::new(),
            failed: None,
            started: Instant::now(),
        })
    }

    pub async fn write(&mut self, data: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        self.bytes += data.len() as u64;
        if self.bytes > self.max_bytes {
            self.failed = Some(Error::sql(
                SqlState::ProgramLimitExceeded,
                format!("a COPY may send at most {} bytes (the largest file the server accepts)", self.max_bytes),
            ));
            // what was staged goes now, not when the client ends the COPY
            if let Some(file) = self.file.as_mut() {
                let _ = file.get_mut().set_len(0).await;
            }
            return;
        }
        let Some(file) = self.file.as_mut() else { return };
        let written = match self.converter.as_mut() {
            Some(converter) => {
                self.scratch.clear();
                match converter.push(data, &mut self.scratch) {
                    Ok(()) => file.write_all(&self.scratch).await.map_err(|e| Error::internal("staging COPY data", e)),
                    Err(e) => Err(e),
                }
            }
            None => {
                self.tail.extend_from_slice(&data[data.len().saturating_sub(TAIL)..]);
                let excess = self.tail.len().saturating_sub(TAIL);
                self.tail.drain(..excess);
                file.write_all(data).await.map_err(|e| Error::internal("staging COPY data", e))
            }
        };
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    /// Closes the staging file and describes it as a load.
    pub async fn finish(&mut self) -> Result<LoadRequest> {
        let source = self.finish_staging().await?;
        Ok(LoadRequest {
            target: self.plan.table.clone(),
            search_path: self.search_path.clone(),
            source,
            columns: ColumnBinding::Positional(self.plan.columns.clone()),
            incremental: true,
            dedup: Dedup::Fail,
            keep_timestamps: false,
            operation: "copy",
        })
    }

    /// The plan this COPY runs.
    pub fn plan(&self) -> &CopyInPlan {
        &self.plan
    }

    /// Closes the staging file and describes it as a CSV source.
    pub async fn finish_staging(&mut self) -> Result<LoadSource> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut file = self.file.take().ok_or_else(|| Error::internal("finishing COPY", "already finished"))?;
        if let Some(converter) = self.converter.as_mut() {
            self.scratch.clear();
            converter.finish(&mut self.scratch);
            file.write_all(&self.scratch).await.map_err(|e| Error::internal("staging COPY data", e))?;
        }
        file.flush().await.map_err(|e| Error::internal("staging COPY data", e))?;
        // CSV data may end with PostgreSQL's end-of-data line, `\.` (psql sends it after a
        // script's inline rows): it is no row
        let marker = if self.converter.is_none() { end_marker_len(&self.tail, self.bytes) } else { 0 };
        if marker > 0 {
            let file = file.get_mut();
            let length = file.metadata().await.map_err(|e| Error::internal("staging COPY data", e))?.len();
            file.set_len(length.saturating_sub(marker as u64))
                .await
                .map_err(|e| Error::internal("staging COPY data", e))?;
        }
        drop(file);
        let f = &self.plan.format;
        let options = if f.csv {
            CsvOptions {
                delimiter: f.delimiter.to_string(),
                quote: f.quote.to_string(),
                escape: f.escape.to_string(),
                header: f.header,
                null_strings: vec![f.null.clone()],
                skip_lines: 0,
                empty_as_null: vec![],
            }
        } else {
            // what TextToCsv wrote
            CsvOptions {
                delimiter: ",".into(),
                quote: "\"".into(),
                escape: "\"".into(),
                header: false,
                null_strings: vec![String::new()],
                skip_lines: 0,
                empty_as_null: vec![],
            }
        };
        Ok(LoadSource {
            paths: vec![self.path.clone()],
            format: SourceFormat::Csv(options),
            gzip: false,
            label: "COPY".into(),
        })
    }
}

impl Drop for CopyIn {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(format: &CopyFormat, chunks: &[&[u8]]) -> String {
        let mut c = TextToCsv::new(format);
        let mut out = Vec::new();
        for chunk in chunks {
            c.push(chunk, &mut out).unwrap();
        }
        c.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn text_format() -> CopyFormat {
        CopyFormat {
            csv: false,
            header: false,
            delimiter: '\t',
            null: "\\N".into(),
            quote: '"',
            escape: '"',
            force_quote: vec![],
            force_quote_all: false,
        }
    }

    #[test]
    fn a_line_sent_byte_by_byte_converts_whole_and_an_overlong_one_is_refused() {
        let f = text_format();
        let line = vec![b'x'; 200_000];
        let mut chunks: Vec<&[u8]> = line.chunks(1).collect();
        chunks.push(b"\tend\n");
        let csv = convert(&f, &chunks);
        assert_eq!(csv.len(), 200_000 + "\"\",\"end\"\n".len());
        let mut c = TextToCsv::new(&f);
        let mut out = Vec::new();
        let big = vec![b'x'; 1 << 20];
        let refused = (0..=64).map(|_| c.push(&big, &mut out)).find_map(std::result::Result::err);
        assert_eq!(refused.map(|e| e.state()), Some(SqlState::ProgramLimitExceeded));
    }

    #[test]
    fn csv_data_ends_at_an_end_of_data_line_only() {
        assert_eq!(end_marker_len(b"1,a\n\\.\n", 9), 3);
        assert_eq!(end_marker_len(b"\n\\.\r\n", 100), 4);
        assert_eq!(end_marker_len(b"\\.\n", 3), 3);
        assert_eq!(end_marker_len(b"\\.\n", 40), 0, "a value ending in a backslash and a period");
        assert_eq!(end_marker_len(b"1,a\\.\n", 7), 0);
        assert_eq!(end_marker_len(b"1,a\n", 4), 0);
    }

    #[test]
    fn text_format_becomes_csv_across_chunks() {
        let f = text_format();
        assert_eq!(convert(&f, &[b"1\tab", b"c\t\\N\n2\t\t\"q\"\n"]), "\"1\",\"abc\",\n\"2\",\"\",\"\"\"q\"\"\"\n");
        assert_eq!(convert(&f, &[b"a\\tb\\\\c\\nd\\101\\x41\n\\.\nignored\n"]), "\"a\tb\\c\nd\u{41}A\"\n");
        assert_eq!(convert(&f, &[b"x\r\n", b"y"]), "\"x\"\n\"y\"\n");
        let header = CopyFormat { header: true, ..text_format() };
        assert_eq!(convert(&header, &[b"id\tname\n1\tx\n"]), "\"1\",\"x\"\n");
    }

    #[test]
    fn escaped_delimiters_stay_inside_values() {
        let f = CopyFormat { delimiter: '|', ..text_format() };
        assert_eq!(convert(&f, &[b"a\\|b|c\n"]), "\"a|b\",\"c\"\n");
    }
}
