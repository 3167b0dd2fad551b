//! Far transfers in protected mode: interrupts and exceptions through the IDT's interrupt
//! and trap gates (with the TSS's stack for an inner ring), IRET, and far JMP, CALL and RET
//! between code segments (returns to an outer ring included; call gates: gate.rs). Task
//! switches and task gates stop the run for KVM.

use crate::bus::Bus;
use crate::cpu::{Address, Cpu, SS, WORD};
use crate::flags::Flags;
use crate::segments::{code_of, Descriptor};
use crate::trap::{Trap, NP, TS};

/// EFLAGS.NT: the task is nested (an IRET would switch tasks).
const NT: u32 = 1 << 14;
/// EFLAGS.RF and VM.
const RF: u32 = 1 << 16;
const VM: u32 = 1 << 17;
/// EFLAGS.IOPL.
const IOPL: u32 = 3 << 12;

impl Cpu {
    /// Pushes `size` bytes on the current stack; the fault when the write cannot be made.
    pub(crate) fn push_checked(
        &mut self,
        bus: &mut impl Bus,
        size: u8,
        value: u32,
    ) -> Result<(), Trap> {
        let sp = self.sp().wrapping_sub(u32::from(size));
        self.set_sp(sp);
        let at = self.segs[SS].base.wrapping_add(self.sp());
        let user = self.cpl() == 3;
        self.write_linear(bus, at, size, value, user)
    }

    /// Pops `size` bytes from the current stack; the fault when the read cannot be made.
    pub(crate) fn pop_checked(&mut self, bus: &mut impl Bus, size: u8) -> Result<u32, Trap> {
        let at = self.segs[SS].base.wrapping_add(self.sp());
        let user = self.cpl() == 3;
        let value = self.read_linear(bus, at, size, user)?;
        self.set_sp(self.sp().wrapping_add(u32::from(size)));
        Ok(value)
    }

    /// The stack for `ring` from the TSS: SS and ESP (SP in a 286 TSS).
    pub(crate) fn ring_stack(&mut self, bus: &mut impl Bus, ring: u8) -> Result<(u16, u32), Trap> {
        let invalid = Trap::with_code(TS, code_of(self.tr.selector));
        let (ring, base, limit) = (u32::from(ring), self.tr.base, self.tr.limit);
        let (at, size) = if self.tr.attrs & 8 != 0 {
            (4 + ring * 8, 4)
        } else {
            (2 + ring * 4, 2)
        };
        if self.tr.attrs & 0x80 == 0 || at + u32::from(size) + 1 > limit {
            return Err(invalid);
        }
        let sp = self.read_linear(bus, base.wrapping_add(at), size, false)?;
        let ss_at = base.wrapping_add(at + u32::from(size));
        let ss = self.read_linear(bus, ss_at, WORD, false)?;
        Ok((ss as u16, sp))
    }

    /// Delivers interrupt `vector` through the IDT, returning to `ret`, pushing `code` when
    /// there is one; `soft` for `int n`, `int3` and `into` (the gate's DPL is checked).
    pub(crate) fn deliver(
        &mut self,
        bus: &mut impl Bus,
        vector: u8,
        ret: u32,
        code: Option<u32>,
        soft: bool,
    ) -> Result<(), Trap> {
        let idt_code = u32::from(vector) * 8 + 2 + u32::from(!soft);
        let entry = u32::from(vector) * 8;
        if entry + 7 > u32::from(self.idt.1) {
            return Err(Trap::gp(idt_code));
        }
        let at = self.idt.0.wrapping_add(entry);
        let low = self.read_linear(bus, at, 4, false)?;
        let high = self.read_linear(bus, at.wrapping_add(4), 4, false)?;
        let gate = Descriptor { low, high };
        if gate.is_segment() || !matches!(gate.kind(), 5 | 6 | 7 | 0xE | 0xF) {
            return Err(Trap::gp(idt_code));
        }
        if soft && gate.dpl() < self.cpl() {
            return Err(Trap::gp(idt_code));
        }
        if !gate.present() {
            return Err(Trap::with_code(NP, idt_code));
        }
        if gate.kind() == 5 {
            // A task gate: the handler is a task of its own; the error code goes on its stack.
            let tss = (low >> 16) as u16;
            self.switch_task(bus, tss, crate::task::Switch::Call, ret)?;
            if let Some(code) = code {
                let size = if self.stack32 { 4 } else { WORD };
                self.push_checked(bus, size, code)?;
            }
            return Ok(());
        }
        let selector = (low >> 16) as u16;
        let wide = gate.kind() & 8 != 0;
        let offset = if wide {
            (low & 0xFFFF) | (high & 0xFFFF_0000)
        } else {
            low & 0xFFFF
        };
        self.enter_handler(bus, selector, offset, wide, ret)?;
        if let Some(code) = code {
            self.push_checked(bus, if wide { 4 } else { WORD }, code)?;
        }
        let mut clear = Flags::TF | NT | RF | VM;
        if gate.kind() & 1 == 0 {
            clear |= Flags::IF;
        }
        self.flags &= !clear;
        Ok(())
    }

    /// Switches to the handler's code segment (and for an inner ring, the TSS's stack) and
    /// pushes the interrupted SS:ESP, EFLAGS, CS and EIP.
    fn enter_handler(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        offset: u32,
        wide: bool,
        ret: u32,
    ) -> Result<(), Trap> {
        let (target, _) = self.code_descriptor(bus, selector).map_err(|t| match t {
            Trap::Unsupported { .. } => Trap::gp(code_of(selector)),
            other => other,
        })?;
        let cpl = self.cpl();
        if target.dpl() > cpl {
            return Err(Trap::gp(code_of(selector)));
        }
        let ring = if target.conforming() {
            cpl
        } else {
            target.dpl()
        };
        let from_v86 = self.v86();
        // From virtual-8086 mode only a 32-bit gate to a ring-0, non-conforming segment.
        if from_v86 && (!wide || ring != 0 || target.conforming()) {
            return Err(Trap::gp(code_of(selector)));
        }
        let size = if wide { 4 } else { WORD };
        let old_sp = if from_v86 { self.regs[4] } else { self.sp() };
        let (old_cs, old_ss) = (self.segs[1].selector, self.segs[SS].selector);
        let flags = self.normalize_flags(self.flags);
        let new_selector = (selector & !3) | u16::from(ring);
        if ring < cpl {
            let (ss, sp) = self.ring_stack(bus, ring)?;
            self.set_code_segment(&target, new_selector);
            self.flags &= !VM;
            self.load_protected(bus, SS, ss)
                .map_err(|_| Trap::with_code(TS, code_of(ss)))?;
            self.set_sp(sp);
            if from_v86 {
                self.push_v86_segments(bus)?;
            }
            self.push_checked(bus, size, u32::from(old_ss))?;
            self.push_checked(bus, size, old_sp)?;
        } else {
            self.set_code_segment(&target, new_selector);
        }
        self.push_checked(bus, size, flags)?;
        self.push_checked(bus, size, u32::from(old_cs))?;
        self.push_checked(bus, size, ret)?;
        self.ip = offset;
        Ok(())
    }

    /// The code segment a far transfer goes to, checked for a transfer to ring `rpl` from
    /// the current ring (a return may go outwards, never inwards).
    fn return_target(&mut self, bus: &mut impl Bus, selector: u16) -> Result<Descriptor, Trap> {
        let rpl = (selector & 3) as u8;
        if rpl < self.cpl() {
            return Err(Trap::gp(code_of(selector)));
        }
        let (desc, _) = self.code_descriptor(bus, selector)?;
        let bad = if desc.conforming() {
            desc.dpl() > rpl
        } else {
            desc.dpl() != rpl
        };
        if bad {
            return Err(Trap::gp(code_of(selector)));
        }
        Ok(desc)
    }

    /// IRET in protected mode (to the same or an outer ring).
    pub(crate) fn iret_protected(&mut self, bus: &mut impl Bus) -> Result<(), Trap> {
        if self.flags & NT != 0 {
            // Back to the task that called this one.
            let link = self.read_linear(bus, self.tr.base, 2, false)? as u16;
            let ret = self.ip;
            return self.switch_task(bus, link, crate::task::Switch::Return, ret);
        }
        let size = self.osize();
        let ip = self.pop_checked(bus, size)?;
        let selector = self.pop_checked(bus, size)? as u16;
        let flags = self.pop_checked(bus, size)?;
        if size == 4 && flags & VM != 0 && self.cpl() == 0 {
            return self.iret_to_v86(bus, ip, selector, flags);
        }
        let desc = self.return_target(bus, selector)?;
        let old_cpl = self.cpl();
        let outer = (selector & 3) as u8 > old_cpl;
        let (sp, ss) = if outer {
            let sp = self.pop_checked(bus, size)?;
            (sp, self.pop_checked(bus, size)? as u16)
        } else {
            (0, 0)
        };
        self.set_code_segment(&desc, selector);
        self.ip = if size == 4 { ip } else { ip & 0xFFFF };
        self.set_flags_privileged(flags, size, old_cpl);
        if outer {
            self.load_protected(bus, SS, ss)?;
            self.set_sp(sp);
            self.drop_inner_segments();
        }
        Ok(())
    }

    /// EFLAGS from an IRET or POPF of `size` bytes at privilege `cpl`: IOPL changes only in
    /// ring 0, IF only where CPL ≤ IOPL; VM and RF are not taken from the image.
    pub(crate) fn set_flags_privileged(&mut self, value: u32, size: u8, cpl: u8) {
        let mut keep = VM | RF;
        if cpl > 0 {
            keep |= IOPL;
        }
        if u32::from(cpl) > (self.flags & IOPL) >> 12 {
            keep |= Flags::IF;
        }
        if size == WORD {
            keep |= 0xFFFF_0000;
        }
        let value = (value & !keep) | (self.flags & keep);
        self.flags = self.normalize_flags(value);
    }

    /// A far JMP in protected mode, to a code segment at the current privilege.
    pub(crate) fn jump_far_protected(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        offset: u32,
    ) -> Result<(), Trap> {
        if let Some(tss) = self.task_target(bus, selector)? {
            let ret = self.ip;
            return self.switch_task(bus, tss, crate::task::Switch::Jump, ret);
        }
        if let Some(gate) = self.call_gate(bus, selector)? {
            return self.through_call_gate(bus, selector, gate, false);
        }
        let desc = self.direct_target(bus, selector)?;
        let new_selector = (selector & !3) | u16::from(self.cpl());
        self.set_code_segment(&desc, new_selector);
        self.ip = offset;
        Ok(())
    }

    /// A far CALL in protected mode, to a code segment at the current privilege.
    pub(crate) fn call_far_protected(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        offset: u32,
    ) -> Result<(), Trap> {
        if let Some(tss) = self.task_target(bus, selector)? {
            let ret = self.ip;
            return self.switch_task(bus, tss, crate::task::Switch::Call, ret);
        }
        if let Some(gate) = self.call_gate(bus, selector)? {
            return self.through_call_gate(bus, selector, gate, true);
        }
        let desc = self.direct_target(bus, selector)?;
        let size = self.osize();
        let (cs, ip) = (u32::from(self.segs[1].selector), self.ip);
        self.push_checked(bus, size, cs)?;
        self.push_checked(bus, size, ip)?;
        let new_selector = (selector & !3) | u16::from(self.cpl());
        self.set_code_segment(&desc, new_selector);
        self.ip = offset;
        Ok(())
    }

    /// The code segment a far JMP or CALL goes to directly (no gate): a conforming segment
    /// no less privileged than CPL, or a non-conforming one at CPL with RPL ≤ CPL.
    fn direct_target(&mut self, bus: &mut impl Bus, selector: u16) -> Result<Descriptor, Trap> {
        let (desc, at) = self.code_descriptor(bus, selector)?;
        let (rpl, cpl) = ((selector & 3) as u8, self.cpl());
        let bad = if desc.conforming() {
            desc.dpl() > cpl
        } else {
            rpl > cpl || desc.dpl() != cpl
        };
        if bad {
            return Err(Trap::gp(code_of(selector)));
        }
        self.mark_accessed(bus, at, &desc);
        Ok(desc)
    }

    /// A far RET (with `extra` bytes of parameters to drop) in protected mode, to the same
    /// or an outer ring.
    pub(crate) fn return_far_protected(
        &mut self,
        bus: &mut impl Bus,
        extra: u32,
    ) -> Result<(), Trap> {
        let size = self.osize();
        let ip = self.pop_checked(bus, size)?;
        let selector = self.pop_checked(bus, size)? as u16;
        let desc = self.return_target(bus, selector)?;
        let outer = (selector & 3) as u8 > self.cpl();
        self.set_sp(self.sp().wrapping_add(extra));
        let (sp, ss) = if outer {
            let sp = self.pop_checked(bus, size)?;
            (sp, self.pop_checked(bus, size)? as u16)
        } else {
            (0, 0)
        };
        self.set_code_segment(&desc, selector);
        self.ip = if size == 4 { ip } else { ip & 0xFFFF };
        if outer {
            self.load_protected(bus, SS, ss)?;
            self.set_sp(sp.wrapping_add(extra));
            self.drop_inner_segments();
        }
        Ok(())
    }

    /// A far transfer's address operand in memory: offset, then selector.
    pub(crate) fn far_pointer(&mut self, bus: &mut impl Bus, at: Address, size: u8) -> (u32, u16) {
        let offset = self.read(bus, at, size);
        let next = Address {
            seg: at.seg,
            offset: at.offset.wrapping_add(u32::from(size)),
        };
        (offset, self.read(bus, next, WORD) as u16)
    }
}
