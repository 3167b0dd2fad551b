//! The FLAGS register's bits.

/// FLAGS bits.
pub struct Flags;

impl Flags {
    /// Carry.
    pub const CF: u32 = 1 << 0;
    /// Always 1.
    pub const RESERVED1: u32 = 1 << 1;
    /// Parity of the result's low byte.
    pub const PF: u32 = 1 << 2;
    /// Carry out of bit 3.
    pub const AF: u32 = 1 << 4;
    /// Zero.
    pub const ZF: u32 = 1 << 6;
    /// Sign.
    pub const SF: u32 = 1 << 7;
    /// Trap (single step).
    pub const TF: u32 = 1 << 8;
    /// Interrupts enabled.
    pub const IF: u32 = 1 << 9;
    /// Direction of string instructions.
    pub const DF: u32 = 1 << 10;
    /// Signed overflow.
    pub const OF: u32 = 1 << 11;
    /// Virtual-8086 mode.
    pub const VM: u32 = 1 << 17;
    /// The arithmetic flags.
    pub const ARITH: u32 = Self::CF | Self::PF | Self::AF | Self::ZF | Self::SF | Self::OF;
}

/// Whether `value`'s low byte has an even number of set bits.
pub fn parity(value: u32) -> bool {
    (value as u8).count_ones().is_multiple_of(2)
}
