//! A reader in front of the `tar` crate that bounds the members it would read whole into memory:
//! GNU long names and links (`L`, `K`) and PAX records (`x`, `g`). The crate has no such bound,
//! so a 512 MiB "long name" once cost 4.7 GB of memory; like Go's archive/tar (docker), den
//! refuses any of them over 1 MiB, at its header, before a byte of it is buffered.
//!
//! The guard follows the archive by absolute position (reads and seeks alike): a header at each
//! member boundary, sparse extension blocks after GNU sparse headers, then the member's data,
//! whose size a preceding PAX `size` record may override.
use std::io::{self, Read, Seek, SeekFrom};

/// Go's archive/tar `maxSpecialFileSize`.
pub(crate) const MAX_SPECIAL: u64 = 1 << 20;
const BLOCK: u64 = 512;

/// What the block being gathered is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Header,
    /// A GNU sparse extension block; then more of them, or the data of `size` bytes.
    SparseExt {
        size: u64,
    },
}

pub(crate) struct TarGuard<R> {
    inner: R,
    pos: u64,
    /// Where the next header (or extension block) starts.
    next: u64,
    kind: Block,
    block: [u8; BLOCK as usize],
    filled: usize,
    /// The data of a PAX header being gathered: (where it starts, its size, bytes so far).
    pax: Option<(u64, u64, Vec<u8>)>,
    /// A PAX `size` for the next member.
    pax_size: Option<u64>,
}

impl<R> TarGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            pos: 0,
            next: 0,
            kind: Block::Header,
            block: [0; BLOCK as usize],
            filled: 0,
            pax: None,
            pax_size: None,
        }
    }

    /// Follows `bytes`, which were just read at `self.pos`, in order: PAX data gathered up to
    /// the next block boundary, then that block, and so on.
    fn observe(&mut self, bytes: &[u8]) -> io::Result<()> {
        let start = self.pos;
        let end = start + bytes.len() as u64;
        self.pos = end;
        let mut cur = start;
        loop {
            let boundary = self.next + self.filled as u64;
            self.gather_pax(bytes, start, cur, boundary.clamp(cur, end));
            if boundary < cur || boundary >= end {
                return Ok(());
            }
            let from = (boundary - start) as usize;
            let take = (BLOCK as usize - self.filled).min(bytes.len() - from);
            self.block[self.filled..self.filled + take].copy_from_slice(&bytes[from..from + take]);
            self.filled += take;
            cur = boundary + take as u64;
            if self.filled < BLOCK as usize {
                return Ok(());
            }
            self.filled = 0;
            self.block_done()?;
        }
    }

    /// Keeps the part of `[lo, hi)` that is PAX data being gathered.
    fn gather_pax(&mut self, bytes: &[u8], start: u64, lo: u64, hi: u64) {
        let Some((at, size, data)) = &mut self.pax else {
            return;
        };
        let (lo, hi) = ((*at).max(lo), (*at + *size).min(hi));
        if lo < hi {
            data.extend_from_slice(&bytes[(lo - start) as usize..(hi - start) as usize]);
        }
        if data.len() as u64 == *size {
            self.pax_size = pax_size(data);
            self.pax = None;
        }
    }

    fn block_done(&mut self) -> io::Result<()> {
        let b = &self.block;
        let data_at = self.next + BLOCK;
        match self.kind {
            Block::SparseExt { size } => {
                if b[504] != 0 {
                    self.next = data_at;
                } else {
                    self.kind = Block::Header;
                    self.next = data_at + round_up(size);
                }
            }
            Block::Header if b.iter().all(|&x| x == 0) => self.next = data_at,
            Block::Header => {
                let typ = b[156];
                let mut size = header_size(&b[124..136])?;
                let special = matches!(typ, b'L' | b'K' | b'x' | b'g');
                if special && size > MAX_SPECIAL {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "a tar {} of {size} bytes (den reads at most {MAX_SPECIAL})",
                            if matches!(typ, b'L' | b'K') {
                                "long name"
                            } else {
                                "PAX header"
                            }
                        ),
                    ));
                }
                if typ == b'x' {
                    self.pax = Some((data_at, size, Vec::with_capacity(size as usize)));
                    if size == 0 {
                        self.pax = None;
                    }
                } else if !special {
                    size = self.pax_size.take().unwrap_or(size);
                }
                if typ == b'S' && b[482] != 0 {
                    self.kind = Block::SparseExt { size };
                    self.next = data_at;
                } else {
                    self.next = data_at + round_up(size);
                }
            }
        }
        Ok(())
    }
}

fn round_up(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// A header's size field: octal, or base-256 when the top bit is set (GNU).
fn header_size(field: &[u8]) -> io::Result<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "tar size overflows"))?;
        }
        return Ok(v);
    }
    let text: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| c.is_ascii_digit())
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(&text, 8)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "tar size field is not octal"))
}

/// The `size` record of PAX data (`"%d size=%d\n"` records).
fn pax_size(data: &[u8]) -> Option<u64> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(v) = record.strip_prefix(b"size=") {
            return std::str::from_utf8(v).ok()?.parse().ok();
        }
        rest = &rest[len..];
    }
    None
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n])?;
        Ok(n)
    }
}

impl<R: Seek> Seek for TarGuard<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = self.inner.seek(to)?;
        let boundary = self.next + self.filled as u64;
        if pos > boundary {
            // Skipping over a header is never what the tar crate does; refuse rather than guess.
            return Err(io::Error::other("tar reader seeked past a header"));
        }
        self.pos = pos;
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_size_records_are_read() {
        assert_eq!(pax_size(b"20 path=aaaaaaaaaaa\n13 size=4096\n"), Some(4096));
        assert_eq!(pax_size(b"16 path=abcdefg\n"), None);
        assert_eq!(pax_size(b"garbage"), None);
    }

    #[test]
    fn sizes_octal_and_base256() {
        assert_eq!(header_size(b"00000001750\0").unwrap(), 1000);
        let mut b256 = [0u8; 12];
        b256[0] = 0x80;
        b256[11] = 5;
        assert_eq!(header_size(&b256).unwrap(), 5);
    }
}
