//! The byte streams a snapshot goes through (`SnapStream`): optional
//! compression chosen by `zookeeper.snapshot.compression.method` when writing
//! and by the file name's extension when reading, and an Adler32 over the
//! *uncompressed* bytes (`CheckedOutputStream`/`CheckedInputStream`), which the
//! snapshot "seals" into itself. The Adler32 is `simd-adler32` (already in the
//! build through flate2), vectorised, so faster than `adler2` over a snapshot.
//!
//! The bytes reach the file through [`DirectWriter`]: whole 1 MiB chunks
//! past the page cache.
//!
//! Snappy is snappy-java's own stream format (`SnappyOutputStream`), not the
//! framing format of the snappy spec: a 16-byte header (`\x82SNAPPY\0`, int
//! version 1, int compatible version 1) then blocks of up to 32 KiB input, each
//! an int length and raw-snappy bytes.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::direct_write::DirectWriter;

/// `SnapStream.StreamMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `CHECKED`: plain bytes (the default).
    #[default]
    None,
    /// `GZIP`: `snapshot.<zxid>.gz`.
    Gzip,
    /// `SNAPPY`: `snapshot.<zxid>.snappy`.
    Snappy,
}

impl Compression {
    /// `StreamMode.fromString`: "gz" / "snappy" (any case), anything else is none.
    pub fn from_name(name: &str) -> Compression {
        if name.eq_ignore_ascii_case("gz") {
            Compression::Gzip
        } else if name.eq_ignore_ascii_case("snappy") {
            Compression::Snappy
        } else {
            Compression::None
        }
    }

    /// `SnapStream.getStreamMode(fileName)`: from the last `.ext` of the name.
    pub fn from_file_name(file_name: &str) -> Compression {
        match file_name.rsplit_once('.') {
            Some((_, ext)) => Compression::from_name(ext),
            None => Compression::None,
        }
    }

    pub fn file_extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Snappy => ".snappy",
        }
    }
}

/// snappy-java's `SnappyCodec.MAGIC_HEADER`.
pub const SNAPPY_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const SNAPPY_BLOCK: usize = 32 * 1024;

/// snappy-java's `SnappyOutputStream`.
struct SnappyWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    enc: snap::raw::Encoder,
}

impl<W: Write> SnappyWriter<W> {
    fn new(mut inner: W) -> io::Result<Self> {
        inner.write_all(&SNAPPY_MAGIC)?;
        inner.write_all(&1i32.to_be_bytes())?;
        inner.write_all(&1i32.to_be_bytes())?;
        Ok(SnappyWriter {
            inner,
            buf: Vec::with_capacity(SNAPPY_BLOCK),
            enc: snap::raw::Encoder::new(),
        })
    }

    fn dump(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let c = self.enc.compress_vec(&self.buf).map_err(io::Error::other)?;
        self.inner.write_all(&(c.len() as i32).to_be_bytes())?;
        self.inner.write_all(&c)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.dump()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SnappyWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(SNAPPY_BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == SNAPPY_BLOCK {
            self.dump()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// snappy-java's `SnappyInputStream` (concatenated streams included).
struct SnappyReader<R: Read> {
    inner: R,
    block: Vec<u8>,
    pos: usize,
    dec: snap::raw::Decoder,
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl<R: Read> SnappyReader<R> {
    fn new(mut inner: R) -> io::Result<Self> {
        let mut hdr = [0u8; 16];
        if read_full(&mut inner, &mut hdr)? != 16 || hdr[..8] != SNAPPY_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a snappy-java stream",
            ));
        }
        Ok(SnappyReader {
            inner,
            block: Vec::new(),
            pos: 0,
            dec: snap::raw::Decoder::new(),
        })
    }

    /// Reads the next block; false at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        let mut len = [0u8; 4];
        match read_full(&mut self.inner, &mut len)? {
            0 => return Ok(false),
            4 => {}
            _ => return Err(io::ErrorKind::UnexpectedEof.into()),
        }
        if len == SNAPPY_MAGIC[..4] {
            // Another stream's header: skip its remaining 12 bytes.
            let mut rest = [0u8; 12];
            if read_full(&mut self.inner, &mut rest)? != 12 || rest[..4] != SNAPPY_MAGIC[4..] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad snappy header",
                ));
            }
            return self.next_block();
        }
        let len = i32::from_be_bytes(len);
        if !(0..=64 * 1024 * 1024).contains(&len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad snappy block length",
            ));
        }
        let mut c = vec![0u8; len as usize];
        if read_full(&mut self.inner, &mut c)? != c.len() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.block = self
            .dec
            .decompress_vec(&c)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.pos = 0;
        Ok(true)
    }
}

impl<R: Read> Read for SnappyReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.block.len() - self.pos);
        out[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

enum Sink {
    Plain(DirectWriter),
    Gzip(GzEncoder<DirectWriter>),
    Snappy(Box<SnappyWriter<DirectWriter>>),
}

/// Writes a snapshot's bytes through the chosen compression, keeping the
/// Adler32 of everything written.
pub struct CheckedWriter {
    sink: Sink,
    adler: simd_adler32::Adler32,
}

impl CheckedWriter {
    pub fn new(file: File, compression: Compression) -> io::Result<CheckedWriter> {
        let w = DirectWriter::new(file);
        let sink = match compression {
            Compression::None => Sink::Plain(w),
            Compression::Gzip => Sink::Gzip(GzEncoder::new(w, flate2::Compression::default())),
            Compression::Snappy => Sink::Snappy(Box::new(SnappyWriter::new(w)?)),
        };
        Ok(CheckedWriter {
            sink,
            adler: simd_adler32::Adler32::new(),
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.adler.write(bytes);
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
            Sink::Snappy(w) => w.write_all(bytes),
        }
    }

    /// Whether the file's whole chunks bypass the page cache
    /// ([`DirectWriter::is_direct`]).
    pub fn is_direct(&self) -> bool {
        match &self.sink {
            Sink::Plain(w) => w.is_direct(),
            Sink::Gzip(w) => w.get_ref().is_direct(),
            Sink::Snappy(w) => w.inner.is_direct(),
        }
    }

    /// `CheckedOutputStream.getChecksum().getValue()` so far.
    pub fn checksum(&self) -> i64 {
        self.adler.finish() as i64
    }

    /// Ends the compression stream and returns the file, flushed but not synced.
    pub fn finish(self) -> io::Result<File> {
        let w = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Snappy(w) => w.finish()?,
        };
        w.finish()
    }
}

/// Bytes [`CheckedReader`] keeps buffered; the most one [`CheckedReader::take`] may ask for.
const READ_BUF: usize = 256 * 1024;
pub const MAX_TAKE: usize = 64 * 1024;

/// Reads a snapshot's uncompressed bytes, keeping their Adler32 and offset.
/// Parsing borrows straight from its buffer ([`take`](Self::take)); the
/// checksum is brought up to date in bulk, when the buffer is refilled or
/// asked for, not per field.
pub struct CheckedReader {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    /// Next unread byte of `buf`.
    pos: usize,
    /// End of the valid bytes of `buf`.
    end: usize,
    /// `buf[..summed]` is in `adler` already (`summed <= pos`).
    summed: usize,
    adler: simd_adler32::Adler32,
    /// Stream offset of `buf[0]`.
    base: u64,
}

impl CheckedReader {
    pub fn new(file: File, compression: Compression) -> io::Result<CheckedReader> {
        let inner: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                READ_BUF, file,
            ))),
            Compression::Snappy => {
                Box::new(SnappyReader::new(BufReader::with_capacity(READ_BUF, file))?)
            }
        };
        Ok(CheckedReader {
            inner,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            pos: 0,
            end: 0,
            summed: 0,
            adler: simd_adler32::Adler32::new(),
            base: 0,
        })
    }

    /// `CheckedInputStream.getChecksum().getValue()` of the bytes read so far.
    pub fn checksum(&mut self) -> i64 {
        self.sum_consumed();
        self.adler.finish() as i64
    }

    /// Uncompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// True when no byte is left.
    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(!self.fill_to(1)?)
    }

    /// The next `n` bytes (`n <= MAX_TAKE`), consumed; `UnexpectedEof`
    /// (nothing consumed) when the stream ends first.
    pub fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        assert!(n <= MAX_TAKE, "take({n}) exceeds {MAX_TAKE}");
        if !self.fill_to(n)? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let at = self.pos;
        self.pos += n;
        Ok(&self.buf[at..at + n])
    }

    fn sum_consumed(&mut self) {
        self.adler.write(&self.buf[self.summed..self.pos]);
        self.summed = self.pos;
    }

    /// Makes `n` bytes available at `buf[pos..]`; false when the stream ends first.
    fn fill_to(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.sum_consumed();
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.summed = 0;
        while self.end < n {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: Compression, data: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut w = CheckedWriter::new(File::create(&p).unwrap(), c).unwrap();
        w.write_all(data).unwrap();
        let sum = w.checksum();
        w.finish().unwrap();
        let mut r = CheckedReader::new(File::open(&p).unwrap(), c).unwrap();
        let mut back = Vec::new();
        while back.len() < data.len() {
            let n = (data.len() - back.len()).min(MAX_TAKE);
            back.extend_from_slice(r.take(n).unwrap());
        }
        assert!(r.at_eof().unwrap());
        assert_eq!(r.checksum(), sum);
        back
    }

    #[test]
    fn every_mode_round_trips() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
            assert_eq!(round_trip(c, &data), data, "{c:?}");
            assert_eq!(round_trip(c, b""), b"", "{c:?}");
        }
    }

    #[test]
    fn takes_across_refills_keep_bytes_offset_and_checksum() {
        let data: Vec<u8> = (0..3 * READ_BUF as u32 + 77)
            .map(|i| (i * 7 % 253) as u8)
            .collect();
        for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("f");
            let mut w = CheckedWriter::new(File::create(&p).unwrap(), c).unwrap();
            w.write_all(&data).unwrap();
            w.finish().unwrap();
            let mut r = CheckedReader::new(File::open(&p).unwrap(), c).unwrap();
            let mut at = 0;
            for n in [1, 4, MAX_TAKE, 8, 8191, MAX_TAKE - 1, 60].iter().cycle() {
                let n = (*n).min(data.len() - at);
                assert_eq!(r.take(n).unwrap(), &data[at..at + n], "{c:?} at {at}");
                at += n;
                assert_eq!(r.offset(), at as u64);
                // Cross-checked against the other implementation (log entries use it).
                let mut a = adler2::Adler32::new();
                a.write_slice(&data[..at]);
                assert_eq!(r.checksum(), a.checksum() as i64, "{c:?} at {at}");
                if at == data.len() {
                    break;
                }
            }
            assert!(r.at_eof().unwrap());
            let e = r.take(1).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            assert_eq!(r.offset(), data.len() as u64);
        }
    }

    #[test]
    fn mode_from_file_name() {
        assert_eq!(
            Compression::from_file_name("snapshot.1a"),
            Compression::None
        );
        assert_eq!(
            Compression::from_file_name("snapshot.1a.gz"),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_file_name("snapshot.1a.SNAPPY"),
            Compression::Snappy
        );
    }
}
