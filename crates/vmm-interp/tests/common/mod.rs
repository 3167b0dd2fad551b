//! What the interpreter's tests share: a small deterministic generator of test inputs.

/// Xorshift: the same sequence for the same seed, so a failure names its seed.
pub struct Random(pub u64);

impl Random {
    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
