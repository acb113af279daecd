//! The chunked transfer coding of HTTP/1.1, decoded in place: data is handed on as slices of
//! the read buffer, nothing is copied or kept.

use httparse::Status;

use crate::measure::ErrorKind;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum State {
    /// Before a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
    /// The body is complete.
    Done,
}

/// A chunked-body decoder.
#[derive(Debug, Default)]
pub(super) struct Chunked {
    state: State,
}

impl Chunked {
    /// Whether the last chunk and the trailers were read.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes what `input` holds, handing chunk data to `data`; returns the bytes consumed
    /// (the rest is an incomplete line: call again with it and more).
    pub fn feed(
        &mut self,
        input: &[u8],
        mut data: impl FnMut(&[u8]) -> Result<(), ErrorKind>,
    ) -> Result<usize, ErrorKind> {
        let mut i = 0;
        loop {
            let rest = &input[i..];
            match self.state {
                State::Size => match httparse::parse_chunk_size(rest) {
                    Ok(Status::Complete((used, 0))) => {
                        i += used;
                        self.state = State::Trailer;
                    }
                    Ok(Status::Complete((used, size))) => {
                        i += used;
                        self.state = State::Data(size);
                    }
                    Ok(Status::Partial) => return Ok(i),
                    Err(_) => return Err(ErrorKind::Malformed),
                },
                State::Data(left) => {
                    if rest.is_empty() {
                        return Ok(i);
                    }
                    let take = left.min(rest.len() as u64) as usize;
                    data(&rest[..take])?;
                    i += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(i);
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ErrorKind::Malformed);
                    }
                    i += 2;
                    self.state = State::Size;
                }
                State::Trailer => match rest.windows(2).position(|w| w == b"\r\n") {
                    None => return Ok(i),
                    Some(0) => {
                        self.state = State::Done;
                        return Ok(i + 2);
                    }
                    Some(line) => i += line + 2,
                },
                State::Done => return Ok(i),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `body` fed in pieces of `step` bytes, as reads would deliver it.
    fn decode(body: &[u8], step: usize) -> Result<(Vec<u8>, bool), ErrorKind> {
        let mut d = Chunked::default();
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for piece in body.chunks(step) {
            pending.extend_from_slice(piece);
            let used = d.feed(&pending, |b| {
                out.extend_from_slice(b);
                Ok(())
            })?;
            pending.drain(..used);
        }
        Ok((out, d.done()))
    }

    #[test]
    fn decodes_chunks_split_anywhere() {
        let body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n";
        for step in 1..body.len() {
            assert_eq!(
                decode(body, step),
                Ok((b"hello world".to_vec(), true)),
                "step {step}"
            );
        }
    }

    #[test]
    fn bad_framing_is_malformed() {
        assert_eq!(decode(b"zz\r\n", 64), Err(ErrorKind::Malformed));
        assert_eq!(decode(b"2\r\nabXY", 64), Err(ErrorKind::Malformed));
        assert_eq!(decode(b"3\r\nab", 64), Ok((b"ab".to_vec(), false)));
    }
}
