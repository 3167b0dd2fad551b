//! Segment registers in protected mode: descriptors from the GDT and the LDT, the checks a
//! 386 makes when a selector is loaded, and the task and LDT registers.

use crate::bus::Bus;
use crate::cpu::{Cpu, Segment, CS, SS};
use crate::trap::{Trap, NP, SS_FAULT};

/// An 8-byte descriptor as the GDT or the LDT holds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Descriptor {
    pub low: u32,
    pub high: u32,
}

impl Descriptor {
    pub(crate) fn base(&self) -> u32 {
        (self.low >> 16) | ((self.high & 0xFF) << 16) | (self.high & 0xFF00_0000)
    }

    pub(crate) fn limit(&self) -> u32 {
        let limit = (self.low & 0xFFFF) | (self.high & 0xF_0000);
        if self.high & (1 << 23) != 0 {
            (limit << 12) | 0xFFF
        } else {
            limit
        }
    }

    /// The attributes as [`Segment::attrs`] keeps them.
    pub(crate) fn attrs(&self) -> u16 {
        ((self.high >> 8) & 0xF0FF) as u16
    }

    /// The type field (bits 0-3 of the attributes).
    pub(crate) fn kind(&self) -> u8 {
        ((self.high >> 8) & 0xF) as u8
    }

    pub(crate) fn dpl(&self) -> u8 {
        ((self.high >> 13) & 3) as u8
    }

    pub(crate) fn present(&self) -> bool {
        self.high & (1 << 15) != 0
    }

    /// A code or data segment (S set), not a system descriptor.
    pub(crate) fn is_segment(&self) -> bool {
        self.high & (1 << 12) != 0
    }

    pub(crate) fn is_code(&self) -> bool {
        self.is_segment() && self.kind() & 8 != 0
    }

    pub(crate) fn conforming(&self) -> bool {
        self.is_code() && self.kind() & 4 != 0
    }

    /// The segment as a segment register caches it, selected by `selector`.
    pub(crate) fn segment(&self, selector: u16) -> Segment {
        Segment {
            selector,
            base: self.base(),
            limit: self.limit(),
            attrs: self.attrs(),
        }
    }
}

/// A selector's index and table bits: the error code of a fault about it.
pub(crate) fn code_of(selector: u16) -> u32 {
    u32::from(selector & 0xFFFC)
}

impl Cpu {
    /// The descriptor `selector` names, in the GDT or the LDT; #GP when it is past the
    /// table's limit.
    pub(crate) fn descriptor(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
    ) -> Result<(Descriptor, u32), Trap> {
        let (base, limit) = if selector & 4 != 0 {
            (self.ldtr.base, self.ldtr.limit)
        } else {
            (self.gdt.0, u32::from(self.gdt.1))
        };
        let index = u32::from(selector & !7);
        if index + 7 > limit {
            return Err(Trap::gp(code_of(selector)));
        }
        let at = base.wrapping_add(index);
        let low = self.read_linear(bus, at, 4, false)?;
        let high = self.read_linear(bus, at.wrapping_add(4), 4, false)?;
        Ok((Descriptor { low, high }, at))
    }

    /// Sets the accessed bit of the descriptor at `at` (a segment's first load).
    pub(crate) fn mark_accessed(&mut self, bus: &mut impl Bus, at: u32, desc: &Descriptor) {
        if desc.high & (1 << 8) == 0 {
            let high = desc.high | (1 << 8);
            let _ = self.write_linear(bus, at.wrapping_add(4), 4, high, false);
        }
    }

    /// Loads ES, SS, DS, FS or GS as the instruction in hand does: in real mode the base is
    /// the selector times 16; in protected mode the descriptor is checked. False when the
    /// load faulted (the fault is pending).
    pub(crate) fn set_segment(&mut self, bus: &mut impl Bus, seg: usize, selector: u16) -> bool {
        if !self.segmented() {
            self.load_segment(seg, selector);
            return true;
        }
        match self.load_protected(bus, seg, selector) {
            Ok(()) => true,
            Err(trap) => {
                self.pend(trap);
                false
            }
        }
    }

    /// A data or stack segment load in protected mode, with the 386's checks.
    pub(crate) fn load_protected(
        &mut self,
        bus: &mut impl Bus,
        seg: usize,
        selector: u16,
    ) -> Result<(), Trap> {
        let (rpl, cpl) = ((selector & 3) as u8, self.cpl());
        if selector & !3 == 0 {
            if seg == SS {
                return Err(Trap::gp(0));
            }
            // A null selector: the register holds it, and any access through it is refused.
            self.put_segment(
                seg,
                Segment {
                    selector,
                    ..Segment::default()
                },
            );
            return Ok(());
        }
        let (desc, at) = self.descriptor(bus, selector)?;
        let gp = Trap::gp(code_of(selector));
        if seg == SS {
            let writable_data = desc.is_segment() && desc.kind() & 0xA == 2;
            if rpl != cpl || desc.dpl() != cpl || !writable_data {
                return Err(gp);
            }
            if !desc.present() {
                return Err(Trap::with_code(SS_FAULT, code_of(selector)));
            }
        } else {
            let readable = desc.is_segment() && (!desc.is_code() || desc.kind() & 2 != 0);
            let privileged = !desc.conforming() && (rpl > desc.dpl() || cpl > desc.dpl());
            if !readable || privileged {
                return Err(gp);
            }
            if !desc.present() {
                return Err(Trap::with_code(NP, code_of(selector)));
            }
        }
        self.mark_accessed(bus, at, &desc);
        self.put_segment(seg, desc.segment(selector));
        if seg == SS {
            self.stack32 = desc.high & (1 << 22) != 0;
        }
        Ok(())
    }

    /// The code segment `selector` names for a far transfer, checked as a 386 does for a
    /// transfer at the privilege it gives: a conforming segment at most as privileged as
    /// `cpl`, a non-conforming one exactly at the selector's RPL.
    pub(crate) fn code_descriptor(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
    ) -> Result<(Descriptor, u32), Trap> {
        if selector & !3 == 0 {
            return Err(Trap::gp(0));
        }
        let (desc, at) = self.descriptor(bus, selector)?;
        if !desc.is_segment() {
            // A call gate, a TSS or a task gate: a task switch or a gate this interpreter
            // leaves to KVM.
            return Err(Trap::Unsupported {
                opcode: 0xEA,
                second: desc.kind(),
            });
        }
        if !desc.is_code() {
            return Err(Trap::gp(code_of(selector)));
        }
        if !desc.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        Ok((desc, at))
    }

    /// Puts `desc` in CS, selected by `selector` (whose RPL is the new CPL).
    pub(crate) fn set_code_segment(&mut self, desc: &Descriptor, selector: u16) {
        self.put_segment(CS, desc.segment(selector));
        self.code32 = desc.high & (1 << 22) != 0;
        // The privilege may have changed: the next fetch checks its page again.
        self.fetch_page = crate::cpu::NO_PAGE;
    }

    /// After a return to an outer ring: data segments the new CPL may not use become null.
    pub(crate) fn drop_inner_segments(&mut self) {
        let cpl = self.cpl();
        for seg in [0, 3, 4, 5] {
            let s = self.segs[seg];
            let code = s.attrs & 0x18 == 0x18;
            let conforming_code = code && s.attrs & 4 != 0;
            let dpl = ((s.attrs >> 5) & 3) as u8;
            if s.attrs & 0x10 != 0 && !conforming_code && dpl < cpl {
                self.put_segment(seg, Segment::default());
            }
        }
    }

    /// `lldt`: the LDT register from a GDT descriptor of type 2 (a null selector empties it).
    pub(crate) fn load_ldt(&mut self, bus: &mut impl Bus, selector: u16) -> Result<(), Trap> {
        if selector & !3 == 0 {
            self.ldtr = Segment::default();
            return Ok(());
        }
        let (desc, _) = self.descriptor(bus, selector & !4)?;
        if selector & 4 != 0 || desc.is_segment() || desc.kind() != 2 {
            return Err(Trap::gp(code_of(selector)));
        }
        if !desc.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        self.ldtr = desc.segment(selector);
        Ok(())
    }

    /// `ltr`: the task register from an available TSS descriptor, which becomes busy.
    pub(crate) fn load_task_register(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
    ) -> Result<(), Trap> {
        if selector & !3 == 0 || selector & 4 != 0 {
            return Err(Trap::gp(code_of(selector)));
        }
        let (desc, at) = self.descriptor(bus, selector)?;
        if desc.is_segment() || !matches!(desc.kind(), 1 | 9) {
            return Err(Trap::gp(code_of(selector)));
        }
        if !desc.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        let busy = desc.high | (2 << 8);
        self.write_linear(bus, at.wrapping_add(4), 4, busy, false)?;
        self.tr = Descriptor { high: busy, ..desc }.segment(selector);
        Ok(())
    }
}
