//! The physical pages that hold decoded code. A write to any other page cannot make a block
//! stale, so only a write to one of these makes the blocks compare their bytes again.

use std::cell::Cell;

/// Pages of 4 KiB below 4 GiB.
const PAGES: usize = 1 << 20;

/// A bit for each physical page: set when a block was decoded from it (until the blocks are
/// all dropped).
#[derive(Debug, Default)]
pub(super) struct CodePages {
    /// Empty until the first block is decoded (no memory for a machine that has none).
    bits: Vec<u64>,
    /// A block wrote to one of them since [`CodePages::take_written`] last asked.
    written: Cell<bool>,
}

impl CodePages {
    /// Marks the page holding `physical`.
    pub fn mark(&mut self, physical: u32) {
        if self.bits.is_empty() {
            self.bits = vec![0; PAGES / 64];
        }
        let page = (physical >> 12) as usize;
        self.bits[page / 64] |= 1 << (page % 64);
    }

    /// Forgets every page (the blocks were dropped).
    pub fn clear(&mut self) {
        self.bits = Vec::new();
    }

    /// Notes that a block wrote to a page that holds code.
    #[inline(always)]
    pub fn note_written(&self) {
        self.written.set(true);
    }

    /// Whether a block wrote to a page that holds code since the last call.
    #[inline(always)]
    pub fn take_written(&self) -> bool {
        self.written.replace(false)
    }

    /// Whether the page holding `physical` holds decoded code.
    #[inline(always)]
    pub fn holds(&self, physical: u32) -> bool {
        let page = (physical >> 12) as usize;
        self.bits
            .get(page / 64)
            .is_some_and(|word| word >> (page % 64) & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_a_marked_page_holds_code_and_its_neighbours_do_not() {
        let mut pages = CodePages::default();
        assert!(!pages.holds(0x7C00));

        pages.mark(0xFFFF_F123);
        pages.mark(0x7C00);

        assert!(pages.holds(0x7000) && pages.holds(0x7FFF) && pages.holds(0xFFFF_F000));
        assert!(!pages.holds(0x6FFF) && !pages.holds(0x8000) && !pages.holds(0xFFFF_E000));
        pages.clear();
        assert!(!pages.holds(0x7C00));
    }
}
