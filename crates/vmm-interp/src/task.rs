//! Hardware task switches between 32-bit TSSs: a far JMP or CALL to a TSS or a task gate, an
//! interrupt or exception through a task gate in the IDT, and IRET with EFLAGS.NT back to the
//! task that called. The outgoing task's registers are saved in its TSS, the incoming task's
//! loaded from its own (CR3, EFLAGS, the general and segment registers, the LDT), the busy bits
//! and the back link kept, and CR0.TS set. 16-bit (286) TSSs are left to KVM.

use crate::bus::Bus;
use crate::cpu::{Cpu, Segment, CS, SS};
use crate::flags::Flags;
use crate::segments::{code_of, Descriptor};
use crate::trap::{Trap, NP, TS};

/// EFLAGS.NT: the task was called (IRET returns to the back link).
const NT: u32 = 1 << 14;
/// The TSS's fields.
const BACK_LINK: u32 = 0x00;
const CR3: u32 = 0x1C;
const EIP: u32 = 0x20;
const EFLAGS: u32 = 0x24;
const REGS: u32 = 0x28;
const SELECTORS: u32 = 0x48;
const LDT: u32 = 0x60;

/// How a task switch comes about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Switch {
    /// A far JMP: the old task stays free, the new one is not nested.
    Jump,
    /// A far CALL, or an interrupt or exception through a task gate: the new task is nested.
    Call,
    /// IRET with NT: back to the calling task.
    Return,
}

impl Cpu {
    /// The TSS a far JMP or CALL to `selector` switches to: the selector itself for a TSS,
    /// the gate's for a task gate; `None` for anything else.
    pub(crate) fn task_target(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
    ) -> Result<Option<u16>, Trap> {
        if selector & !3 == 0 {
            return Ok(None);
        }
        let (desc, _) = self.descriptor(bus, selector)?;
        if desc.is_segment() || !matches!(desc.kind(), 1 | 3 | 5 | 9 | 0xB) {
            return Ok(None);
        }
        let rpl = (selector & 3) as u8;
        if desc.dpl() < self.cpl() || desc.dpl() < rpl {
            return Err(Trap::gp(code_of(selector)));
        }
        if !desc.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        Ok(Some(if desc.kind() == 5 {
            (desc.low >> 16) as u16
        } else {
            selector
        }))
    }

    /// Switches to the task whose TSS `selector` names; `ret` is where the outgoing task
    /// goes on when it runs again.
    pub(crate) fn switch_task(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        how: Switch,
        ret: u32,
    ) -> Result<(), Trap> {
        let desc = self.task_descriptor(bus, selector, how)?;
        if self.tr.selector & !7 == 0 || self.tr.attrs & 0x80 == 0 {
            // No task to save the running one in: LTR never ran.
            return Err(Trap::with_code(TS, 0));
        }
        let mut flags = self.normalize_flags(self.flags);
        if how == Switch::Return {
            flags &= !NT;
        }
        let old = self.tr;
        self.save_task(bus, old.base, ret, flags)?;
        if how != Switch::Call {
            self.set_busy(bus, old.selector, false)?;
        }
        if how != Switch::Return {
            self.set_busy(bus, selector, true)?;
        }
        let new = Descriptor {
            high: desc.high | (2 << 8),
            ..desc
        };
        self.tr = new.segment(selector);
        if how == Switch::Call {
            let link = self.tr.base.wrapping_add(BACK_LINK);
            self.write_linear(bus, link, 2, u32::from(old.selector), false)?;
        }
        self.cr0 |= 1 << 3;
        self.load_task(bus, how == Switch::Call)
            .map_err(|_| Trap::with_code(TS, code_of(selector)))
    }

    /// The incoming TSS's descriptor, checked: in the GDT, a 32-bit TSS (a 286 one is left to
    /// KVM), free for a JMP or CALL and busy for a return, present, at least 104 bytes.
    fn task_descriptor(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        how: Switch,
    ) -> Result<Descriptor, Trap> {
        if selector & 4 != 0 {
            return Err(Trap::with_code(TS, code_of(selector)));
        }
        let (desc, _) = self.descriptor(bus, selector)?;
        if !desc.is_segment() && matches!(desc.kind(), 1 | 3) {
            return Err(Trap::Unsupported {
                opcode: 0xEA,
                second: desc.kind(),
            });
        }
        let wanted = if how == Switch::Return { 0xB } else { 9 };
        if desc.is_segment() || desc.kind() != wanted {
            return Err(Trap::gp(code_of(selector)));
        }
        if !desc.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        if desc.limit() < 0x67 {
            return Err(Trap::with_code(TS, code_of(selector)));
        }
        Ok(desc)
    }

    /// Sets or clears the busy bit of the TSS descriptor `selector` names in the GDT.
    fn set_busy(&mut self, bus: &mut impl Bus, selector: u16, busy: bool) -> Result<(), Trap> {
        let at = self
            .gdt
            .0
            .wrapping_add(u32::from(selector & !7))
            .wrapping_add(4);
        let high = self.read_linear(bus, at, 4, false)?;
        let high = if busy {
            high | (2 << 8)
        } else {
            high & !(2 << 8)
        };
        self.write_linear(bus, at, 4, high, false)
    }

    /// The outgoing task's EIP, EFLAGS, general and segment registers into its TSS at `base`.
    fn save_task(
        &mut self,
        bus: &mut impl Bus,
        base: u32,
        ip: u32,
        flags: u32,
    ) -> Result<(), Trap> {
        let field = |offset: u32| base.wrapping_add(offset);
        self.write_linear(bus, field(EIP), 4, ip, false)?;
        self.write_linear(bus, field(EFLAGS), 4, flags, false)?;
        for (i, value) in self.regs.into_iter().enumerate() {
            self.write_linear(bus, field(REGS + 4 * i as u32), 4, value, false)?;
        }
        for (i, seg) in self.segs.into_iter().enumerate() {
            let selector = u32::from(seg.selector);
            self.write_linear(bus, field(SELECTORS + 4 * i as u32), 2, selector, false)?;
        }
        Ok(())
    }

    /// The incoming task's state from its TSS (TR already points at it); `nested` sets NT.
    fn load_task(&mut self, bus: &mut impl Bus, nested: bool) -> Result<(), Trap> {
        let base = self.tr.base;
        let field = |offset: u32| base.wrapping_add(offset);
        let cr3 = self.read_linear(bus, field(CR3), 4, false)?;
        let ip = self.read_linear(bus, field(EIP), 4, false)?;
        let flags = self.read_linear(bus, field(EFLAGS), 4, false)?;
        let mut regs = [0u32; 8];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = self.read_linear(bus, field(REGS + 4 * i as u32), 4, false)?;
        }
        let mut selectors = [0u16; 6];
        for (i, s) in selectors.iter_mut().enumerate() {
            *s = self.read_linear(bus, field(SELECTORS + 4 * i as u32), 2, false)? as u16;
        }
        let ldt = self.read_linear(bus, field(LDT), 2, false)? as u16;
        if self.paging {
            self.cr[1] = cr3;
            self.refresh_modes();
        }
        (self.regs, self.ip) = (regs, ip);
        self.flags = self.normalize_flags(flags | if nested { NT } else { 0 });
        self.load_ldt(bus, ldt)?;
        self.load_task_segments(bus, selectors)
    }

    /// The incoming task's segment registers: as in virtual-8086 mode when its EFLAGS says so,
    /// else CS first (its RPL is the new CPL), then SS, then the data segments.
    fn load_task_segments(&mut self, bus: &mut impl Bus, selectors: [u16; 6]) -> Result<(), Trap> {
        if self.flags & Flags::VM != 0 {
            for (seg, &selector) in selectors.iter().enumerate() {
                let v86 = Segment {
                    selector,
                    base: u32::from(selector) << 4,
                    limit: 0xFFFF,
                    attrs: 0xF3,
                };
                self.put_segment(seg, v86);
            }
            (self.code32, self.stack32) = (false, false);
            return Ok(());
        }
        let (code, _) = self.code_descriptor(bus, selectors[CS])?;
        self.set_code_segment(&code, selectors[CS]);
        self.load_protected(bus, SS, selectors[SS])?;
        for seg in [0, 3, 4, 5] {
            self.load_protected(bus, seg, selectors[seg])?;
        }
        Ok(())
    }
}
