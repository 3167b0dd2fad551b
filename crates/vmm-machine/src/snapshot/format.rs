//! The snapshot file's container: a magic number and a format version, named sections of
//! bytes, and a checksum of everything before it, so that another version, a truncated file
//! or a changed byte is refused by name rather than restored into a broken guest.
//!
//! ```text
//!   "PICOVMM SNAP" | version u32 | file_len u64 | count u32 | { name_len u16, name, len u64,
//!   bytes }* | sum u64
//! ```
//! Integers are little-endian. The versioning rule: anything that changes how a section is
//! read bumps [`VERSION`]; picovmm reads only its own version.

/// The file's first bytes.
pub const MAGIC: &[u8; 12] = b"PICOVMM SNAP";
/// The format this picovmm writes and reads.
pub const VERSION: u32 = 1;

/// Why a file is not a snapshot this picovmm can restore.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// No magic number.
    #[error("is not a picovmm snapshot")]
    NotASnapshot,
    /// Another format version.
    #[error("is a snapshot of format version {0}; this picovmm reads version {VERSION}")]
    Version(u32),
    /// It ends early.
    #[error("is truncated")]
    Truncated,
    /// The checksum does not match: a byte changed.
    #[error("is damaged: its checksum does not match its contents")]
    Checksum,
}

/// FNV-1a over little-endian 64-bit words (the tail byte by byte): one multiply per 8 bytes,
/// so that checking a 64 MiB snapshot takes milliseconds.
pub fn fnv64(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut words = bytes.chunks_exact(8);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h ^ word).wrapping_mul(PRIME);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h
}

/// The header's size: magic, version, file length, section count.
const HEADER: usize = 12 + 4 + 8 + 4;

/// The file's bytes for `sections`.
pub fn encode(sections: &[(String, Vec<u8>)]) -> Vec<u8> {
    let size: usize = sections.iter().map(|(n, b)| 10 + n.len() + b.len()).sum();
    let total = HEADER + size + 8;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(total as u64).to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (name, bytes) in sections {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let sum = fnv64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The sections of a file's bytes: the magic and version first, then the length the file
/// says it has (shorter: truncated), then the checksum (a changed byte), then the sections.
pub fn decode(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, FormatError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(FormatError::NotASnapshot);
    }
    let version = bytes
        .get(12..16)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(FormatError::Truncated)?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    let total = bytes
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(FormatError::Truncated)?;
    match (bytes.len() as u64).cmp(&total) {
        std::cmp::Ordering::Less => return Err(FormatError::Truncated),
        std::cmp::Ordering::Greater => return Err(FormatError::Checksum),
        std::cmp::Ordering::Equal => {}
    }
    if bytes.len() < HEADER + 8 {
        return Err(FormatError::Truncated);
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if u64::from_le_bytes(sum.try_into().map_err(|_| FormatError::Truncated)?) != fnv64(body) {
        return Err(FormatError::Checksum);
    }
    // The checksum held: a section that does not parse is a file this version never wrote.
    let count = u32::from_le_bytes([body[24], body[25], body[26], body[27]]);
    let mut at = HEADER;
    let mut sections = Vec::new();
    let take = |at: &mut usize, n: usize| -> Result<&[u8], FormatError> {
        let b = body.get(*at..*at + n).ok_or(FormatError::Checksum)?;
        *at += n;
        Ok(b)
    };
    for _ in 0..count {
        let n = take(&mut at, 2)?;
        let n = usize::from(u16::from_le_bytes([n[0], n[1]]));
        let name = String::from_utf8_lossy(take(&mut at, n)?).into_owned();
        let len = take(&mut at, 8)?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| FormatError::Checksum)?);
        let len = usize::try_from(len).map_err(|_| FormatError::Checksum)?;
        sections.push((name, take(&mut at, len)?.to_vec()));
    }
    if at != body.len() {
        return Err(FormatError::Checksum);
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        encode(&[("a".into(), vec![1, 2, 3]), ("bb".into(), vec![0; 100])])
    }

    #[test]
    fn test_sections_round_trip() {
        let s = decode(&sample()).expect("decodes");
        assert_eq!(s[0], ("a".to_owned(), vec![1, 2, 3]));
        assert_eq!(s[1].1.len(), 100);
    }

    #[test]
    fn test_another_version_truncation_and_a_flipped_byte_are_refused() {
        let mut other = sample();
        other[12] = 2;
        assert_eq!(decode(&other), Err(FormatError::Version(2)));
        let good = sample();
        assert_eq!(
            decode(&good[..good.len() - 20]),
            Err(FormatError::Truncated)
        );
        let mut flipped = sample();
        flipped[40] ^= 0x10;
        assert_eq!(decode(&flipped), Err(FormatError::Checksum));
        assert_eq!(decode(b"hello"), Err(FormatError::NotASnapshot));
    }
}
