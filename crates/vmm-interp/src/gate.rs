//! Call gates: a far CALL or JMP whose selector names a call gate goes to the gate's code
//! segment and offset; a CALL to a more privileged, non-conforming segment switches to that
//! ring's stack from the TSS and copies the gate's count of parameters across (RET's operand
//! drops them on the way back).

use crate::bus::Bus;
use crate::cpu::{Cpu, CS, SS, WORD};
use crate::segments::{code_of, Descriptor};
use crate::trap::{Trap, NP, TS};

impl Cpu {
    /// The call gate `selector` names, if it names one.
    pub(crate) fn call_gate(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
    ) -> Result<Option<Descriptor>, Trap> {
        if selector & !3 == 0 {
            return Ok(None);
        }
        let (desc, _) = self.descriptor(bus, selector)?;
        Ok((!desc.is_segment() && matches!(desc.kind(), 4 | 0xC)).then_some(desc))
    }

    /// A far CALL (`call`) or JMP through call gate `gate`, named by `selector`.
    pub(crate) fn through_call_gate(
        &mut self,
        bus: &mut impl Bus,
        selector: u16,
        gate: Descriptor,
        call: bool,
    ) -> Result<(), Trap> {
        let (cpl, rpl) = (self.cpl(), (selector & 3) as u8);
        if gate.dpl() < cpl || gate.dpl() < rpl {
            return Err(Trap::gp(code_of(selector)));
        }
        if !gate.present() {
            return Err(Trap::with_code(NP, code_of(selector)));
        }
        let target_selector = (gate.low >> 16) as u16;
        let wide = gate.kind() == 0xC;
        let offset = if wide {
            (gate.low & 0xFFFF) | (gate.high & 0xFFFF_0000)
        } else {
            gate.low & 0xFFFF
        };
        let (target, _) = self
            .code_descriptor(bus, target_selector)
            .map_err(|t| match t {
                Trap::Unsupported { .. } => Trap::gp(code_of(target_selector)),
                other => other,
            })?;
        let inner = !target.conforming() && target.dpl() < cpl;
        let misplaced = !target.conforming() && target.dpl() != cpl && !(call && inner);
        if target.dpl() > cpl || misplaced {
            return Err(Trap::gp(code_of(target_selector)));
        }
        let ring = if inner { target.dpl() } else { cpl };
        let size = if wide { 4 } else { WORD };
        let (old_cs, old_ip) = (u32::from(self.segs[CS].selector), self.ip);
        if inner {
            let params = (gate.high & 0x1F) as usize;
            self.switch_to_inner_stack(bus, &target, target_selector, ring, params, size)?;
        } else {
            self.set_code_segment(&target, (target_selector & !3) | u16::from(ring));
        }
        if call {
            self.push_checked(bus, size, old_cs)?;
            self.push_checked(bus, size, old_ip)?;
        }
        self.ip = if wide { offset } else { offset & 0xFFFF };
        Ok(())
    }

    /// For a CALL through a gate to ring `ring`: CS to the target, the ring's stack from the
    /// TSS, the old SS:ESP and `params` parameters of `size` bytes pushed on it.
    fn switch_to_inner_stack(
        &mut self,
        bus: &mut impl Bus,
        target: &Descriptor,
        target_selector: u16,
        ring: u8,
        params: usize,
        size: u8,
    ) -> Result<(), Trap> {
        let (old_ss, old_sp) = (u32::from(self.segs[SS].selector), self.sp());
        let (old_base, mask) = (self.segs[SS].base, crate::cpu::mask(self.stack_size()));
        let user = self.cpl() == 3;
        let mut copied = [0u32; 31];
        for (i, slot) in copied.iter_mut().enumerate().take(params) {
            let at = old_sp.wrapping_add(i as u32 * u32::from(size)) & mask;
            *slot = self.read_linear(bus, old_base.wrapping_add(at), size, user)?;
        }
        let (ss, sp) = self.ring_stack(bus, ring)?;
        self.set_code_segment(target, (target_selector & !3) | u16::from(ring));
        self.load_protected(bus, SS, ss)
            .map_err(|_| Trap::with_code(TS, code_of(ss)))?;
        self.set_sp(sp);
        self.push_checked(bus, size, old_ss)?;
        self.push_checked(bus, size, old_sp)?;
        for &value in copied[..params].iter().rev() {
            self.push_checked(bus, size, value)?;
        }
        Ok(())
    }
}
