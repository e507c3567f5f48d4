//! Streaming reader of CloudTrail log objects.
//!
//! A log object is `{"Records":[ ... ]}`, maybe gzipped, maybe hundreds of
//! megabytes. Rather than parse it, a byte-level scanner walks its structure
//! (brackets, strings, escapes) over a 64 KiB window and copies out each
//! element of `"Records"` verbatim, so memory stays bounded by the largest
//! record and nesting depth costs a bit per level, never a stack frame.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::iter::FusedIterator;

use flate2::bufread::GzDecoder;

use crate::error::ReadError;

/// Size of the window the scanner works over.
const BUF_SIZE: usize = 64 * 1024;
/// Largest record (and largest skipped key) accepted, to bound memory.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting accepted inside a skipped value, so its bracket stack
/// (one bit a level) stays bounded too.
const MAX_DEPTH: usize = MAX_RECORD_BYTES;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// One CloudTrail record: its position and its original bytes, untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Zero-based position of the record in the `"Records"` array.
    pub index: usize,
    /// The record's exact bytes, from its first byte (`{` for an object) to
    /// its last, without surrounding whitespace. Not validated as UTF-8 or
    /// as JSON beyond its bracket and string structure.
    pub bytes: Vec<u8>,
}

/// Streams the records of a CloudTrail log object (`{"Records":[...]}`),
/// gzip or plain.
///
/// Also an [`Iterator`] of `Result<Record, ReadError>`, fused: after an error
/// or the end of the array it yields `None`.
///
/// Keys other than `"Records"` are skipped wherever they stand. Only a key
/// spelt exactly `"Records"` (no escapes) counts; a second one after the
/// array is an error (the records of the first are yielded before it).
pub struct RecordReader<R: Read> {
    input: Input<R>,
    /// Reused between records; each yielded `Vec` is a right-sized copy.
    record: Vec<u8>,
    key: Vec<u8>,
    stack: BitStack,
    state: State,
    records: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet; the first call reads up to `"Records":[`.
    Start,
    /// Just after a record.
    NextElement,
    /// The end was reached or an error returned.
    Finished,
}

impl<R: Read> RecordReader<R> {
    /// Wraps `reader`, which holds one log object.
    ///
    /// Gzip is recognised by its magic bytes (`1f 8b`), not by a name; a
    /// multi-member gzip stream is read whole. Plain JSON may start with
    /// whitespace or a UTF-8 byte-order mark. Nothing is read until the
    /// first call to [`next_record`](Self::next_record).
    pub fn new(reader: R) -> Self {
        RecordReader {
            input: Input {
                buf: BufReader::with_capacity(
                    BUF_SIZE,
                    Source::Unsniffed(Some(Counting {
                        inner: reader,
                        count: 0,
                    })),
                ),
                offset: 0,
                max_record: MAX_RECORD_BYTES,
            },
            record: Vec::new(),
            key: Vec::new(),
            stack: BitStack::default(),
            state: State::Start,
            records: 0,
        }
    }

    /// Next record, `Ok(None)` at the clean end of the array and object.
    ///
    /// Reuses internal buffers; the returned `Vec` is the record's exact
    /// bytes from `{` (or the first byte of a non-object element) to its
    /// end, no surrounding whitespace. After `Ok(None)` or an error, returns
    /// `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        let result = self.advance();
        if !matches!(result, Ok(Some(_))) {
            self.state = State::Finished;
        }
        result
    }

    /// Bytes of (decompressed) JSON consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.input.offset
    }

    /// Compressed/raw bytes consumed from the underlying reader so far (for
    /// progress). Runs a little ahead of the records, by read-ahead.
    pub fn input_bytes_read(&self) -> u64 {
        self.input.buf.get_ref().input_bytes()
    }

    /// Records yielded so far.
    pub fn records_read(&self) -> usize {
        self.records
    }

    /// Lowers the record size cap, so tests need not build 64 MiB records.
    #[cfg(test)]
    pub(crate) fn with_max_record(mut self, max: usize) -> Self {
        self.input.max_record = max;
        self
    }

    fn advance(&mut self) -> Result<Option<Record>, ReadError> {
        let first = match self.state {
            State::Start => {
                self.open().map_err(Fault::outside)?;
                true
            }
            State::NextElement => false,
            State::Finished => return Ok(None),
        };
        self.state = State::NextElement;
        let index = self.records;
        let more = self.before_element(first).map_err(|f| f.in_record(index))?;
        if !more {
            self.finish().map_err(Fault::outside)?;
            return Ok(None);
        }
        self.record.clear();
        self.input
            .scan_value(Some(&mut self.record), &mut self.stack)
            .map_err(|f| f.in_record(index))?;
        self.records += 1;
        Ok(Some(Record {
            index,
            bytes: self.record.clone(),
        }))
    }

    /// Reads up to and including `"Records":[`, skipping other keys.
    fn open(&mut self) -> Result<(), Fault> {
        if self.input.fill()?.first() == Some(&UTF8_BOM[0]) {
            // Byte by byte: the mark may straddle two reads.
            for expected in UTF8_BOM {
                if self.input.fill()?.first() != Some(&expected) {
                    return Err(self.input.syntax("invalid byte-order mark"));
                }
                self.input.consume(1);
            }
        }
        match self.input.peek_nonws()? {
            Some(b'{') => self.input.consume(1),
            Some(b) => {
                let reason = format!("the top level is not an object (found {})", found(b));
                return Err(self.input.syntax(reason));
            }
            None => return Err(self.input.syntax("empty input")),
        }
        if self.input.peek_nonws()? == Some(b'}') {
            return Err(self.input.syntax("no \"Records\" key"));
        }
        loop {
            self.read_key_and_colon()?;
            if self.key == b"\"Records\"" {
                return match self.input.peek_nonws()? {
                    Some(b'[') => {
                        self.input.consume(1);
                        Ok(())
                    }
                    Some(b) => {
                        let reason = format!("\"Records\" is not an array (found {})", found(b));
                        Err(self.input.syntax(reason))
                    }
                    None => Err(self.input.eof()),
                };
            }
            self.skip_value()?;
            match self.input.peek_nonws()? {
                Some(b',') => self.input.consume(1),
                Some(b'}') => return Err(self.input.syntax("no \"Records\" key")),
                Some(b) => {
                    let reason = format!("expected `,` or `}}` after a value, found {}", found(b));
                    return Err(self.input.syntax(reason));
                }
                None => return Err(self.input.eof()),
            }
        }
    }

    /// Positions on the next element's first byte; false at the array's
    /// end (its `]` consumed).
    fn before_element(&mut self, first: bool) -> Result<bool, Fault> {
        let Some(b) = self.input.peek_nonws()? else {
            return Err(self.input.eof());
        };
        match b {
            b']' => {
                self.input.consume(1);
                Ok(false)
            }
            _ if first => Ok(true),
            b',' => {
                self.input.consume(1);
                match self.input.peek_nonws()? {
                    Some(b']') => Err(self.input.syntax("trailing comma before `]`")),
                    Some(_) => Ok(true),
                    None => Err(self.input.eof()),
                }
            }
            _ => {
                let reason = format!("expected `,` or `]` between records, found {}", found(b));
                Err(self.input.syntax(reason))
            }
        }
    }

    /// Reads the rest of the object after the array, then checks that only
    /// whitespace follows it.
    fn finish(&mut self) -> Result<(), Fault> {
        loop {
            match self.input.peek_nonws()? {
                Some(b'}') => {
                    self.input.consume(1);
                    break;
                }
                Some(b',') => {
                    self.input.consume(1);
                    self.read_key_and_colon()?;
                    if self.key == b"\"Records\"" {
                        // A JSON parser would keep one of the two arrays and
                        // drop the other without a word: fail instead.
                        return Err(self.input.syntax(
                            "a second \"Records\" key: the object holds two record arrays, \
                             and only the first was read",
                        ));
                    }
                    self.skip_value()?;
                }
                Some(b) => {
                    let reason = format!("expected `,` or `}}` after the Records array, found {}", found(b));
                    return Err(self.input.syntax(reason));
                }
                None => return Err(self.input.eof()),
            }
        }
        match self.input.peek_nonws()? {
            None => Ok(()),
            Some(b) => {
                let reason = format!("trailing data after the top-level object ({})", found(b));
                Err(self.input.syntax(reason))
            }
        }
    }

    /// Reads `"key" :` into `self.key` (with its quotes, escapes as written).
    fn read_key_and_colon(&mut self) -> Result<(), Fault> {
        match self.input.peek_nonws()? {
            Some(b'"') => {}
            Some(b) => {
                let reason = format!("expected a key, found {}", found(b));
                return Err(self.input.syntax(reason));
            }
            None => return Err(self.input.eof()),
        }
        self.key.clear();
        self.input.scan_value(Some(&mut self.key), &mut self.stack)?;
        match self.input.peek_nonws()? {
            Some(b':') => {
                self.input.consume(1);
                Ok(())
            }
            Some(b) => {
                let reason = format!("expected `:` after a key, found {}", found(b));
                Err(self.input.syntax(reason))
            }
            None => Err(self.input.eof()),
        }
    }

    fn skip_value(&mut self) -> Result<(), Fault> {
        if self.input.peek_nonws()?.is_none() {
            return Err(self.input.eof());
        }
        self.input.scan_value(None, &mut self.stack)
    }
}

impl<R: Read> Iterator for RecordReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

impl<R: Read> FusedIterator for RecordReader<R> {}

impl<R: Read> fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordReader")
            .field("bytes_read", &self.bytes_read())
            .field("input_bytes_read", &self.input_bytes_read())
            .field("records_read", &self.records)
            .field("finished", &(self.state == State::Finished))
            .finish_non_exhaustive()
    }
}

/// Describes an unexpected byte for an error message.
fn found(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// A scanning failure, before it is known whether a record was involved.
#[derive(Debug)]
enum Fault {
    Io { offset: u64, source: io::Error },
    Eof { offset: u64 },
    Syntax { offset: u64, reason: String },
    TooLarge { offset: u64, limit: usize },
}

impl Fault {
    fn in_record(self, index: usize) -> ReadError {
        match self {
            Fault::Io { offset, source } => ReadError::Io {
                offset,
                index: Some(index),
                source,
            },
            Fault::Eof { offset } => ReadError::Malformed {
                index,
                offset,
                reason: "unexpected end of input".into(),
            },
            Fault::Syntax { offset, reason } => ReadError::Malformed {
                index,
                offset,
                reason,
            },
            Fault::TooLarge { offset, limit } => ReadError::RecordTooLarge { index, offset, limit },
        }
    }

    fn outside(self) -> ReadError {
        match self {
            Fault::Io { offset, source } => ReadError::Io {
                offset,
                index: None,
                source,
            },
            Fault::Eof { offset } => ReadError::NotCloudTrail {
                offset,
                reason: "unexpected end of input".into(),
            },
            Fault::Syntax { offset, reason } => ReadError::NotCloudTrail { offset, reason },
            Fault::TooLarge { offset, limit } => ReadError::NotCloudTrail {
                offset,
                reason: format!("a value before the records is larger than {limit} bytes"),
            },
        }
    }
}

/// Byte classes for the scanning loops.
const WS: u8 = 1;
/// Bytes that matter outside strings inside a container.
const STRUCTURAL: u8 = 2;
/// Bytes that end a bare scalar (number, literal, or junk).
const ENDS_SCALAR: u8 = 4;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b' ' as usize] = WS | ENDS_SCALAR;
    t[b'\t' as usize] = WS | ENDS_SCALAR;
    t[b'\n' as usize] = WS | ENDS_SCALAR;
    t[b'\r' as usize] = WS | ENDS_SCALAR;
    t[b'"' as usize] = STRUCTURAL | ENDS_SCALAR;
    t[b'{' as usize] = STRUCTURAL | ENDS_SCALAR;
    t[b'}' as usize] = STRUCTURAL | ENDS_SCALAR;
    t[b'[' as usize] = STRUCTURAL | ENDS_SCALAR;
    t[b']' as usize] = STRUCTURAL | ENDS_SCALAR;
    t[b',' as usize] = ENDS_SCALAR;
    t[b':' as usize] = ENDS_SCALAR;
    t
};

/// The decompressed JSON text, windowed, with its position.
struct Input<R: Read> {
    buf: BufReader<Source<R>>,
    /// Bytes consumed from the window so far.
    offset: u64,
    max_record: usize,
}

impl<R: Read> Input<R> {
    /// The current window; empty at the end of input.
    fn fill(&mut self) -> Result<&[u8], Fault> {
        loop {
            match self.buf.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Fault::Io {
                        offset: self.offset,
                        source,
                    })
                }
            }
        }
        Ok(self.buf.buffer())
    }

    fn consume(&mut self, n: usize) {
        self.buf.consume(n);
        self.offset += n as u64;
    }

    fn syntax(&self, reason: impl Into<String>) -> Fault {
        Fault::Syntax {
            offset: self.offset,
            reason: reason.into(),
        }
    }

    fn eof(&self) -> Fault {
        Fault::Eof { offset: self.offset }
    }

    /// Skips whitespace; returns the next byte without consuming it, or
    /// `None` at the end of input.
    fn peek_nonws(&mut self) -> Result<Option<u8>, Fault> {
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|&b| CLASS[b as usize] & WS == 0) {
                Some(i) => {
                    let b = buf[i];
                    self.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Scans one value starting at the current (non-whitespace) byte,
    /// appending its bytes to `out` when given.
    fn scan_value(&mut self, out: Option<&mut Vec<u8>>, stack: &mut BitStack) -> Result<(), Fault> {
        let Some(&first) = self.fill()?.first() else {
            return Err(self.eof());
        };
        match first {
            b'{' | b'[' | b'"' => self.scan_nested(out, stack),
            b',' | b':' | b']' | b'}' => {
                Err(self.syntax(format!("expected a value, found {}", found(first))))
            }
            _ => self.scan_scalar(out),
        }
    }

    /// Scans a container or string: brackets must balance and match, and
    /// strings end at an unescaped quote. Depth lives in `stack`, not in
    /// the call stack.
    fn scan_nested(&mut self, mut out: Option<&mut Vec<u8>>, stack: &mut BitStack) -> Result<(), Fault> {
        stack.clear();
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let offset = self.offset;
            let max = self.max_record;
            let buf = self.fill()?;
            if buf.is_empty() {
                return Err(Fault::Eof { offset });
            }
            let mut i = 0;
            let mut done = false;
            let mut bad: Option<(usize, &'static str)> = None;
            while i < buf.len() {
                if in_string {
                    if escaped {
                        // Whatever follows a backslash is not a closing quote.
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                        None => i = buf.len(),
                        Some(j) => {
                            let p = i + j;
                            i = p + 1;
                            if buf[p] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if stack.is_empty() {
                                    done = true;
                                    break;
                                }
                            }
                        }
                    }
                } else {
                    match buf[i..].iter().position(|&b| CLASS[b as usize] & STRUCTURAL != 0) {
                        None => i = buf.len(),
                        Some(j) => {
                            let p = i + j;
                            i = p + 1;
                            match buf[p] {
                                b'"' => in_string = true,
                                open @ (b'{' | b'[') => {
                                    if stack.len() >= MAX_DEPTH {
                                        bad = Some((p, "nesting too deep"));
                                        break;
                                    }
                                    stack.push(open == b'[');
                                }
                                close => match stack.pop() {
                                    Some(is_array) if is_array == (close == b']') => {
                                        if stack.is_empty() {
                                            done = true;
                                            break;
                                        }
                                    }
                                    Some(_) => {
                                        bad = Some((p, "mismatched bracket"));
                                        break;
                                    }
                                    // Only reachable if the value did not
                                    // start with a bracket or quote.
                                    None => {
                                        bad = Some((p, "unbalanced bracket"));
                                        break;
                                    }
                                },
                            }
                        }
                    }
                }
            }
            if let Some((p, reason)) = bad {
                return Err(Fault::Syntax {
                    offset: offset + p as u64,
                    reason: reason.into(),
                });
            }
            if let Some(out) = out.as_deref_mut() {
                append_capped(out, &buf[..i], max, offset)?;
            }
            self.consume(i);
            if done {
                return Ok(());
            }
        }
    }

    /// Scans a bare scalar up to the byte that ends it. The end of input
    /// ends it too; the caller then finds the structure unfinished.
    fn scan_scalar(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), Fault> {
        loop {
            let offset = self.offset;
            let max = self.max_record;
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(());
            }
            let end = buf.iter().position(|&b| CLASS[b as usize] & ENDS_SCALAR != 0);
            let n = end.unwrap_or(buf.len());
            if let Some(out) = out.as_deref_mut() {
                append_capped(out, &buf[..n], max, offset)?;
            }
            self.consume(n);
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

/// Appends `span` to `out` unless that would exceed `max` bytes.
fn append_capped(out: &mut Vec<u8>, span: &[u8], max: usize, offset: u64) -> Result<(), Fault> {
    let room = max.saturating_sub(out.len());
    if span.len() > room {
        return Err(Fault::TooLarge {
            offset: offset + room as u64,
            limit: max,
        });
    }
    out.extend_from_slice(span);
    Ok(())
}

/// A stack of bracket kinds (true for `[`), one bit each.
#[derive(Default)]
struct BitStack {
    words: Vec<u64>,
    len: usize,
}

impl BitStack {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, bit: bool) {
        let (word, shift) = (self.len / 64, self.len % 64);
        if word == self.words.len() {
            self.words.push(0);
        }
        if let Some(w) = self.words.get_mut(word) {
            if bit {
                *w |= 1 << shift;
            } else {
                *w &= !(1 << shift);
            }
        }
        self.len += 1;
    }

    fn pop(&mut self) -> Option<bool> {
        self.len = self.len.checked_sub(1)?;
        let word = self.words.get(self.len / 64)?;
        Some(word >> (self.len % 64) & 1 == 1)
    }
}

/// Counts the bytes taken from the caller's reader.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Gives back the bytes read to sniff the format, then the rest.
struct Replay<R> {
    head: [u8; 2],
    pos: usize,
    len: usize,
    inner: R,
}

impl<R: Read> Read for Replay<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let head = self.head.get(self.pos..self.len).unwrap_or(&[]);
        if head.is_empty() {
            return self.inner.read(buf);
        }
        let n = head.len().min(buf.len());
        buf[..n].copy_from_slice(&head[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// The JSON text: the caller's bytes, or their decompression. Which one is
/// decided at the first read, since `RecordReader::new` cannot fail.
enum Source<R> {
    /// `Option` only so the reader can be moved out when sniffing.
    Unsniffed(Option<Counting<R>>),
    Plain(Replay<Counting<R>>),
    Gzip(Box<Members<Replay<Counting<R>>>>),
}

/// The members of a gzip stream, one after another (as `gzip -d` reads
/// them); zero bytes after the last member, as some copies leave, end the
/// stream as they do for GNU gzip. Anything else after a member is an error.
struct Members<R> {
    member: Option<GzDecoder<BufReader<R>>>,
    /// Where the input is once a member has ended and before the next.
    between: Option<BufReader<R>>,
}

impl<R: Read> Members<R> {
    fn new(inner: R) -> Self {
        Members {
            member: Some(GzDecoder::new(BufReader::with_capacity(32 * 1024, inner))),
            between: None,
        }
    }

    /// The input (absent only inside `read`).
    fn get_ref(&self) -> Option<&R> {
        match (&self.member, &self.between) {
            (Some(member), _) => Some(member.get_ref().get_ref()),
            (None, Some(between)) => Some(between.get_ref()),
            (None, None) => None,
        }
    }
}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(member) = &mut self.member {
                let n = member.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.between = self.member.take().map(GzDecoder::into_inner);
            }
            let Some(mut input) = self.between.take() else {
                return Ok(0);
            };
            // What follows a member: another member, zeros, or the end.
            let next = loop {
                let available = input.fill_buf()?;
                match available.iter().position(|b| *b != 0) {
                    Some(at) => {
                        input.consume(at);
                        break Some(input.fill_buf()?.first().copied());
                    }
                    None if available.is_empty() => break None,
                    None => {
                        let n = available.len();
                        input.consume(n);
                    }
                }
            };
            match next {
                None => {
                    self.between = Some(input);
                    return Ok(0);
                }
                Some(Some(0x1f)) => self.member = Some(GzDecoder::new(input)),
                Some(_) => {
                    self.between = Some(input);
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "data after the gzip stream that is neither another gzip member nor zero bytes",
                    ));
                }
            }
        }
    }
}

impl<R: Read> Source<R> {
    fn input_bytes(&self) -> u64 {
        match self {
            Source::Unsniffed(c) => c.as_ref().map_or(0, |c| c.count),
            Source::Plain(r) => r.inner.count,
            Source::Gzip(d) => d.get_ref().map_or(0, |r| r.inner.count),
        }
    }

    fn sniff(&mut self) -> io::Result<()> {
        let Source::Unsniffed(slot) = self else {
            return Ok(());
        };
        let Some(mut inner) = slot.take() else {
            return Ok(());
        };
        let mut head = [0u8; 2];
        let mut len = 0;
        let mut result = Ok(());
        while len < head.len() {
            match inner.read(&mut head[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let replay = Replay {
            head,
            pos: 0,
            len,
            inner,
        };
        *self = if len == 2 && head == GZIP_MAGIC {
            Source::Gzip(Box::new(Members::new(replay)))
        } else {
            Source::Plain(replay)
        };
        result
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sniff()?;
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Gzip(d) => d.read(buf),
            Source::Unsniffed(_) => Ok(0),
        }
    }
}
