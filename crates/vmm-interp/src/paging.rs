//! Paging: linear addresses through the 386's two-level tables (4 KiB pages, and 4 MiB pages
//! with CR4.PSE) or PAE's three levels (CR4.PAE: 64-bit entries, 4 KiB and 2 MiB pages, the
//! four PDPT entries read from CR3 at each walk), the accessed and dirty bits, user/supervisor
//! and read/write protection (CR0.WP for the supervisor), page faults with CR2 and the error
//! code, and a TLB that CR3 writes and `invlpg` flush. Physical addresses stop at 4 GiB.

use crate::bus::Bus;
use crate::cpu::{Cpu, BYTE, DWORD, WORD};
use crate::trap::{Trap, PF};

/// How many translations the TLB keeps (direct-mapped by the page number's low bits).
const ENTRIES: usize = 256;

const PRESENT: u32 = 1;
const WRITABLE: u32 = 1 << 1;
const USER: u32 = 1 << 2;
const ACCESSED: u32 = 1 << 5;
const DIRTY: u32 = 1 << 6;
const LARGE: u32 = 1 << 7;
/// CR4.PSE: 4 MiB pages.
const CR4_PSE: u32 = 1 << 4;
/// CR4.PAE: 64-bit table entries, three levels.
const CR4_PAE: u32 = 1 << 5;
/// CR0.WP: the supervisor cannot write read-only pages either.
const CR0_WP: u32 = 1 << 16;

/// One translation: the linear page, the physical frame, and what the tables allow.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// The linear page number plus one (0: empty).
    tag: u32,
    frame: u32,
    writable: bool,
    user: bool,
    /// The tables' dirty bit is set (a write needs no walk).
    dirty: bool,
}

/// Recent translations.
#[derive(Clone, Debug)]
pub(crate) struct Tlb {
    entries: [Entry; ENTRIES],
}

impl Default for Tlb {
    fn default() -> Tlb {
        Tlb {
            entries: [Entry::default(); ENTRIES],
        }
    }
}

impl Tlb {
    /// Forgets every translation (CR3, CR0 and CR4 writes, a state set from outside).
    pub(crate) fn flush(&mut self) {
        self.entries = [Entry::default(); ENTRIES];
    }

    /// Forgets the translation of the page holding `linear` (`invlpg`).
    pub(crate) fn flush_page(&mut self, linear: u32) {
        let page = linear >> 12;
        let entry = &mut self.entries[page as usize % ENTRIES];
        if entry.tag == page + 1 {
            *entry = Entry::default();
        }
    }
}

impl Cpu {
    /// The physical address of `size` bytes at `linear` when the TLB has their page and
    /// allows the access (no walk, no fault): the common case, kept small enough to inline.
    #[inline(always)]
    pub(crate) fn tlb_hit(&self, linear: u32, size: u8, write: bool) -> Option<u32> {
        if (linear & 0xFFF) + u32::from(size) > 0x1000 {
            return None;
        }
        let page = linear >> 12;
        let entry = &self.tlb.entries[page as usize % ENTRIES];
        let user = self.cpl() == 3;
        (entry.tag == page + 1 && (!write || entry.dirty) && self.allowed(entry, write, user))
            .then_some(entry.frame | (linear & 0xFFF))
    }

    /// The physical address of `linear` for a read or a `write`, by the supervisor or the
    /// `user`; a page fault (CR2 set) when the tables do not allow it.
    pub(crate) fn translate(
        &mut self,
        bus: &mut impl Bus,
        linear: u32,
        write: bool,
        user: bool,
    ) -> Result<u32, Trap> {
        let page = linear >> 12;
        let slot = page as usize % ENTRIES;
        let hit = self.tlb.entries[slot];
        let entry = if hit.tag == page + 1 && (!write || hit.dirty) {
            hit
        } else {
            let entry = self.walk(bus, linear, write, user, true)?;
            self.tlb.entries[slot] = entry;
            entry
        };
        if !self.allowed(&entry, write, user) {
            return Err(self.page_fault(linear, true, write, user));
        }
        Ok(entry.frame | (linear & 0xFFF))
    }

    /// Whether a translation lets this access through.
    #[inline(always)]
    fn allowed(&self, entry: &Entry, write: bool, user: bool) -> bool {
        if user && !entry.user {
            return false;
        }
        !write || entry.writable || (!user && self.cr0 & CR0_WP == 0)
    }

    /// A page fault at `linear`: CR2 and the error code. CR2 is left alone when the instruction
    /// has already faulted: that first fault is the one delivered (an instruction whose fetch
    /// faulted goes on decoding zeros, whose operands may fault again elsewhere).
    fn page_fault(&mut self, linear: u32, present: bool, write: bool, user: bool) -> Trap {
        if self.pending.is_none() {
            self.cr[0] = linear;
        }
        let code = u32::from(present) | u32::from(write) << 1 | u32::from(user) << 2;
        Trap::with_code(PF, code)
    }

    /// Walks the tables for `linear`, setting the accessed (and for a write the dirty) bits
    /// when `update`.
    fn walk(
        &mut self,
        bus: &mut impl Bus,
        linear: u32,
        write: bool,
        user: bool,
        update: bool,
    ) -> Result<Entry, Trap> {
        // The two layouts differ in the directory's place, the large page's size and the
        // entries' width: 32-bit (4-byte entries, 4 MiB pages with PSE) and PAE (8-byte
        // entries read by their low half, 2 MiB pages, the directory from the PDPT).
        let pae = self.cr[2] & CR4_PAE != 0;
        let directory = if pae {
            let pdpte = bus.read32((self.cr[1] & !0x1F) + (linear >> 30) * 8);
            if pdpte & PRESENT == 0 {
                return Err(self.page_fault(linear, false, write, user));
            }
            (pdpte & !0xFFF) + ((linear >> 21) & 0x1FF) * 8
        } else {
            (self.cr[1] & !0xFFF) | ((linear >> 22) << 2)
        };
        let pde = bus.read32(directory);
        if pde & PRESENT == 0 {
            return Err(self.page_fault(linear, false, write, user));
        }
        let (large_pages, large_mask, index) = if pae {
            (true, 0xFFE0_0000, ((linear >> 12) & 0x1FF) * 8)
        } else {
            (
                self.cr[2] & CR4_PSE != 0,
                0xFFC0_0000,
                ((linear >> 12) & 0x3FF) * 4,
            )
        };
        let tag = (linear >> 12) + 1;
        let dirty_bit = if write { DIRTY } else { 0 };
        if pde & LARGE != 0 && large_pages {
            let entry = Entry {
                tag,
                frame: (pde & large_mask) | (linear & !large_mask & !0xFFF),
                writable: pde & WRITABLE != 0,
                user: pde & USER != 0,
                dirty: write || pde & DIRTY != 0,
            };
            if update && self.allowed(&entry, write, user) {
                set_bits(bus, directory, pde, ACCESSED | dirty_bit);
            }
            return Ok(entry);
        }
        let table = (pde & !0xFFF) + index;
        let pte = bus.read32(table);
        if pte & PRESENT == 0 {
            return Err(self.page_fault(linear, false, write, user));
        }
        let entry = Entry {
            tag,
            frame: pte & !0xFFF,
            writable: pde & pte & WRITABLE != 0,
            user: pde & pte & USER != 0,
            dirty: write || pte & DIRTY != 0,
        };
        if update && self.allowed(&entry, write, user) {
            set_bits(bus, directory, pde, ACCESSED);
            set_bits(bus, table, pte, ACCESSED | dirty_bit);
        }
        Ok(entry)
    }

    /// The physical address of `linear` as a debugger sees it (no bits set, no fault), or
    /// `None` where nothing is mapped.
    pub fn debug_translate(&mut self, bus: &mut impl Bus, linear: u32) -> Option<u32> {
        if !self.paging {
            return Some(linear);
        }
        let cr2 = self.cr[0];
        let entry = self.walk(bus, linear, false, false, false);
        self.cr[0] = cr2;
        entry.ok().map(|e| e.frame | (linear & 0xFFF))
    }

    /// Reads `size` bytes at `linear` through paging (a page at a time).
    pub(crate) fn read_linear(
        &mut self,
        bus: &mut impl Bus,
        linear: u32,
        size: u8,
        user: bool,
    ) -> Result<u32, Trap> {
        if !self.paging {
            return Ok(read_physical(bus, linear, size));
        }
        if (linear & 0xFFF) + u32::from(size) <= 0x1000 {
            let physical = self.translate(bus, linear, false, user)?;
            return Ok(read_physical(bus, physical, size));
        }
        let mut value = 0;
        for i in 0..u32::from(size) {
            let physical = self.translate(bus, linear.wrapping_add(i), false, user)?;
            value |= u32::from(bus.read8(physical)) << (8 * i);
        }
        Ok(value)
    }

    /// Writes `size` bytes at `linear` through paging; nothing is written when any page of
    /// it faults.
    pub(crate) fn write_linear(
        &mut self,
        bus: &mut impl Bus,
        linear: u32,
        size: u8,
        value: u32,
        user: bool,
    ) -> Result<(), Trap> {
        if !self.paging {
            write_physical(bus, linear, size, value);
            return Ok(());
        }
        if (linear & 0xFFF) + u32::from(size) <= 0x1000 {
            let physical = self.translate(bus, linear, true, user)?;
            write_physical(bus, physical, size, value);
            self.last_write = physical;
            return Ok(());
        }
        let mut physical = [0u32; 4];
        for (i, p) in physical.iter_mut().enumerate().take(usize::from(size)) {
            *p = self.translate(bus, linear.wrapping_add(i as u32), true, user)?;
        }
        for (i, p) in physical.iter().enumerate().take(usize::from(size)) {
            bus.write8(*p, (value >> (8 * i)) as u8);
        }
        self.last_write = crate::cpu::WRITE_ACROSS_PAGES;
        Ok(())
    }
}

/// Sets `bits` in the table entry at `at` (which holds `value`) unless they are set.
fn set_bits(bus: &mut impl Bus, at: u32, value: u32, bits: u32) {
    if value & bits != bits {
        bus.write32(at, value | bits);
    }
}

#[inline(always)]
pub(crate) fn read_physical(bus: &mut impl Bus, at: u32, size: u8) -> u32 {
    match size {
        BYTE => u32::from(bus.read8(at)),
        WORD => u32::from(bus.read16(at)),
        _ => bus.read32(at),
    }
}

#[inline(always)]
pub(crate) fn write_physical(bus: &mut impl Bus, at: u32, size: u8, value: u32) {
    match size {
        BYTE => bus.write8(at, value as u8),
        WORD => bus.write16(at, value as u16),
        DWORD => bus.write32(at, value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::FlatMemory;

    const DIRECTORY: u32 = 0x1000;
    const TABLE: u32 = 0x2000;

    /// A CPU with paging on: linear 0x400000-0x7FFFFF through TABLE, whose page 5 maps to
    /// `frame` with `bits`; a 4 MiB page at 0x800000 onto 0 (with PSE).
    fn paged(bits: u32, frame: u32) -> (Cpu, FlatMemory) {
        let mut memory = FlatMemory::new(1 << 24);
        memory.write32(DIRECTORY + 4, TABLE | 7);
        memory.write32(DIRECTORY + 8, LARGE | 7);
        memory.write32(TABLE + 5 * 4, frame | bits);
        let mut cpu = Cpu::new(crate::Model::I386);
        cpu.cr0 = 1 | (1 << 31);
        cpu.cr = [0, DIRECTORY, CR4_PSE];
        cpu.refresh_modes();
        (cpu, memory)
    }

    #[test]
    fn test_a_mapped_page_translates_and_sets_accessed_then_dirty() {
        let (mut cpu, mut memory) = paged(PRESENT | WRITABLE, 0x9000);
        let linear = 0x0040_5123;
        assert_eq!(cpu.translate(&mut memory, linear, false, false), Ok(0x9123));
        assert_eq!(memory.read32(TABLE + 20) & (ACCESSED | DIRTY), ACCESSED);
        // The TLB's entry was filled by a read: the write walks again for the dirty bit.
        assert_eq!(cpu.translate(&mut memory, linear, true, false), Ok(0x9123));
        assert_eq!(memory.read32(TABLE + 20) & DIRTY, DIRTY);
    }

    #[test]
    fn test_faults_say_present_write_and_user_and_set_cr2() {
        let (mut cpu, mut memory) = paged(PRESENT, 0x9000);
        let read_only = 0x0040_5000;
        assert_eq!(
            cpu.translate(&mut memory, read_only, true, false),
            Ok(0x9000)
        );
        cpu.cr0 |= CR0_WP;
        assert_eq!(
            cpu.translate(&mut memory, read_only, true, false),
            Err(Trap::with_code(PF, 0b011))
        );
        assert_eq!(
            cpu.translate(&mut memory, read_only, false, true),
            Err(Trap::with_code(PF, 0b101))
        );
        assert_eq!(
            cpu.translate(&mut memory, 0x0040_6000, true, true),
            Err(Trap::with_code(PF, 0b110))
        );
        assert_eq!(cpu.cr[0], 0x0040_6000);
        assert_eq!(
            cpu.translate(&mut memory, 0x00C0_0000, false, false),
            Err(Trap::with_code(PF, 0))
        );
    }

    #[test]
    fn test_a_second_fault_in_the_same_instruction_leaves_cr2_at_the_first() {
        let (mut cpu, mut memory) = paged(PRESENT, 0x9000);
        let fetch = cpu.translate(&mut memory, 0x0040_6000, false, true);
        cpu.pend(fetch.expect_err("page 6 is not present"));

        let operand = cpu.translate(&mut memory, 0x00C0_0000, false, true);

        assert!(operand.is_err());
        assert_eq!(cpu.cr[0], 0x0040_6000);
    }

    #[test]
    fn test_a_large_page_needs_pse() {
        let (mut cpu, mut memory) = paged(PRESENT, 0);
        assert_eq!(
            cpu.translate(&mut memory, 0x0080_1234, false, false),
            Ok(0x1234)
        );
        cpu.cr[2] = 0;
        cpu.tlb.flush();
        // Without PSE the entry points at a page table (at 0, all zeros): not present.
        assert_eq!(
            cpu.translate(&mut memory, 0x0080_1234, false, false),
            Err(Trap::with_code(PF, 0))
        );
    }

    #[test]
    fn test_pae_walks_three_levels_with_2_mib_and_4_kib_pages() {
        let mut memory = FlatMemory::new(1 << 24);
        let (pdpt, directory, table) = (0x1000, 0x2000, 0x3000);
        memory.write32(pdpt + 8, directory | PRESENT); // linear 1-2 GiB
        memory.write32(directory, LARGE | PRESENT | WRITABLE | 0x0040_0000);
        memory.write32(directory + 8, table | PRESENT | WRITABLE);
        memory.write32(table + 3 * 8, 0x7000 | PRESENT);
        let mut cpu = Cpu::new(crate::Model::I386);
        cpu.cr0 = 1 | (1 << 31);
        cpu.cr = [0, pdpt, CR4_PAE];
        cpu.refresh_modes();
        let gib = 0x4000_0000;
        assert_eq!(
            cpu.translate(&mut memory, gib + 0x1234, true, false),
            Ok(0x0040_1234)
        );
        assert_eq!(memory.read32(directory) & DIRTY, DIRTY);
        let small = gib + 0x0020_3456;
        assert_eq!(cpu.translate(&mut memory, small, false, false), Ok(0x7456));
        assert_eq!(
            cpu.translate(&mut memory, small, false, true),
            Err(Trap::with_code(PF, 0b101))
        );
        assert_eq!(
            cpu.translate(&mut memory, 0x1234, false, false),
            Err(Trap::with_code(PF, 0))
        );
    }

    #[test]
    fn test_invlpg_forgets_a_changed_mapping() {
        let (mut cpu, mut memory) = paged(PRESENT | WRITABLE, 0x9000);
        let linear = 0x0040_5000;
        assert_eq!(cpu.translate(&mut memory, linear, false, false), Ok(0x9000));
        memory.write32(TABLE + 20, 0xA000 | PRESENT);
        assert_eq!(cpu.translate(&mut memory, linear, false, false), Ok(0x9000));
        cpu.tlb.flush_page(linear);
        assert_eq!(cpu.translate(&mut memory, linear, false, false), Ok(0xA000));
    }

    #[test]
    fn test_a_write_across_pages_writes_nothing_when_the_second_faults() {
        let (mut cpu, mut memory) = paged(PRESENT | WRITABLE, 0x9000);
        let last = 0x0040_5FFE;
        let result = cpu.write_linear(&mut memory, last, DWORD, 0xAABB_CCDD, false);
        assert_eq!(result, Err(Trap::with_code(PF, 0b010)));
        assert_eq!(cpu.cr[0], 0x0040_6000);
        assert_eq!(memory.read16(0x9FFE), 0);
    }
}
