//! The byte streams a snapshot goes through (`SnapStream`): optional
//! compression chosen by `zookeeper.snapshot.compression.method` when writing
//! and by the file name's extension when reading, and an Adler32 over the
//! *uncompressed* bytes (`CheckedOutputStream`/`CheckedInputStream`), which the
//! snapshot "seals" into itself.
//!
//! Snappy is snappy-java's own stream format (`SnappyOutputStream`), not the
//! framing format of the snappy spec: a 16-byte header (`\x82SNAPPY\0`, int
//! version 1, int compatible version 1) then blocks of up to 32 KiB input, each
//! an int length and raw-snappy bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

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
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
    Snappy(Box<SnappyWriter<BufWriter<File>>>),
}

/// Writes a snapshot's bytes through the chosen compression, keeping the
/// Adler32 of everything written.
pub struct CheckedWriter {
    sink: Sink,
    adler: adler2::Adler32,
}

impl CheckedWriter {
    pub fn new(file: File, compression: Compression) -> io::Result<CheckedWriter> {
        let w = BufWriter::with_capacity(256 * 1024, file);
        let sink = match compression {
            Compression::None => Sink::Plain(w),
            Compression::Gzip => Sink::Gzip(GzEncoder::new(w, flate2::Compression::default())),
            Compression::Snappy => Sink::Snappy(Box::new(SnappyWriter::new(w)?)),
        };
        Ok(CheckedWriter {
            sink,
            adler: adler2::Adler32::new(),
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.adler.write_slice(bytes);
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
            Sink::Snappy(w) => w.write_all(bytes),
        }
    }

    /// `CheckedOutputStream.getChecksum().getValue()` so far.
    pub fn checksum(&self) -> i64 {
        self.adler.checksum() as i64
    }

    /// Ends the compression stream and returns the file, flushed but not synced.
    pub fn finish(self) -> io::Result<File> {
        let w = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
            Sink::Snappy(w) => w.finish()?,
        };
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// Reads a snapshot's uncompressed bytes, keeping their Adler32 and offset.
pub struct CheckedReader {
    inner: Box<dyn BufRead>,
    adler: adler2::Adler32,
    offset: u64,
}

impl CheckedReader {
    pub fn new(file: File, compression: Compression) -> io::Result<CheckedReader> {
        let r = BufReader::with_capacity(256 * 1024, file);
        let inner: Box<dyn BufRead> = match compression {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(BufReader::new(MultiGzDecoder::new(r))),
            Compression::Snappy => Box::new(BufReader::new(SnappyReader::new(r)?)),
        };
        Ok(CheckedReader {
            inner,
            adler: adler2::Adler32::new(),
            offset: 0,
        })
    }

    /// `CheckedInputStream.getChecksum().getValue()` of the bytes read so far.
    pub fn checksum(&self) -> i64 {
        self.adler.checksum() as i64
    }

    /// Uncompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True when no byte is left.
    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.inner.fill_buf()?.is_empty())
    }

    pub fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)?;
        self.adler.write_slice(buf);
        self.offset += buf.len() as u64;
        Ok(())
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
        let mut back = vec![0u8; data.len()];
        r.read_exact(&mut back).unwrap();
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
