//! Moving the machine between the interpreter and KVM: to KVM where the interpreter meets an
//! instruction or a mode it does not run (long mode, SSE, MSRs, task switches), and back to
//! the interpreter where this host's KVM cannot emulate an instruction (`int n` in protected
//! mode, the x87 in real mode). Registers, segments, the firmware, the interrupt controller
//! and the debug settings go along; memory is the same object throughout.

use super::{state, InterpCpu};
use crate::vcpu::{CpuBackend, Fault, VcpuEvent};
use crate::vm::{Result, VmError};

/// EFER.LMA: the guest is in long mode, which the interpreter does not run.
const EFER_LMA: u64 = 1 << 10;

/// Whether KVM stopped on an instruction it cannot emulate (an emulation failure).
pub(super) fn kvm_cannot_go_on(event: &VcpuEvent) -> bool {
    matches!(
        event,
        VcpuEvent::Fault(Fault::InternalError { suberror: 1, .. })
    )
}

impl InterpCpu {
    /// Moves the machine to KVM at the instruction the interpreter cannot run: a new KVM VM
    /// over the same memory, a vCPU with the interpreter's registers, the firmware, interrupt
    /// controller, policy and debug settings. Fails (and the interpreter stays) without KVM.
    pub(super) fn hand_over(&mut self) -> Result<()> {
        let here = (self.cpu.segs[1].selector, self.cpu.start_ip());
        if self.taken_back_at == Some(here) {
            // KVM gave the machine back for this very instruction: neither can run it.
            return Err(VmError::Unsupported(
                "neither KVM nor the interpreter runs it",
            ));
        }
        let (mut vcpu, vm) = crate::vm::kvm_takeover(
            self.bus.map(),
            self.bus.memory(),
            self.bus.device_memory(),
            self.bus.io_shared(),
            self.control.clone(),
        )?;
        self.cpu.ip = self.cpu.start_ip();
        let mut sregs = vcpu.sregs()?;
        let mine = state::sregs_of(&self.cpu);
        (sregs.es, sregs.cs, sregs.ss) = (mine.es, mine.cs, mine.ss);
        (sregs.ds, sregs.fs, sregs.gs) = (mine.ds, mine.fs, mine.gs);
        // A guest that never loaded TR or LDTR keeps KVM's (VMX wants a busy TSS there).
        if mine.tr.present != 0 && mine.tr.selector != 0 {
            sregs.tr = mine.tr;
        }
        if mine.ldt.selector != 0 {
            sregs.ldt = mine.ldt;
        }
        (sregs.gdt, sregs.idt, sregs.cr0) = (mine.gdt, mine.idt, mine.cr0);
        (sregs.cr2, sregs.cr3, sregs.cr4) = (mine.cr2, mine.cr3, mine.cr4);
        sregs.efer = mine.efer;
        vcpu.set_sregs(&sregs)?;
        let msrs: Vec<_> = self.cpu.msrs.entries().collect();
        if let Err(e) = vcpu.set_msrs(&msrs) {
            log::debug!("hand-over: {e}");
        }
        vcpu.set_regs(&state::regs_of(&self.cpu))?;
        vcpu.set_fpu(&state::fpu_of(&self.cpu))?;
        vcpu.set_unclaimed_policy(self.unclaimed.policy);
        if let Some(interrupts) = &self.interrupts {
            vcpu.set_interrupt_controller(interrupts.clone());
        }
        if let Some(firmware) = self.firmware.take() {
            vcpu.set_firmware(firmware);
        }
        let _ = vcpu.set_guest_debug(&self.debug.borrow());
        self.exits.handovers += 1;
        self.timer_to_vcpu(false);
        self.kvm = Some((vcpu, vm));
        Ok(())
    }

    /// Takes the machine back from KVM at the instruction it could not emulate: KVM's
    /// registers into the interpreter, the firmware back, the KVM VM dropped. Fails (and KVM
    /// keeps the machine, to report its error) in long mode.
    pub(super) fn take_back(&mut self) -> Result<()> {
        let Some((mut vcpu, vm)) = self.kvm.take() else {
            return Err(VmError::Unsupported("KVM does not run the machine"));
        };
        let (regs, sregs) = match (vcpu.regs(), vcpu.sregs()) {
            (Ok(regs), Ok(sregs)) if sregs.efer & EFER_LMA == 0 => (regs, sregs),
            _ => {
                self.kvm = Some((vcpu, vm));
                return Err(VmError::Unsupported(
                    "the interpreter does not run long mode",
                ));
            }
        };
        state::set_regs(&mut self.cpu, &regs);
        state::set_sregs(&mut self.cpu, &sregs);
        if let Ok(kvm_state) = vcpu.state() {
            state::set_msrs(&mut self.cpu, &kvm_state.msrs);
        }
        if let Ok(fpu) = vcpu.fpu() {
            state::set_fpu(&mut self.cpu, &fpu);
        }
        self.kvm_exits = self.kvm_exits.plus(CpuBackend::exits(&vcpu));
        if let Some(firmware) = vcpu.take_firmware() {
            self.firmware = Some(firmware);
        }
        self.taken_back_at = Some((self.cpu.segs[1].selector, self.cpu.ip));
        self.timer_to_vcpu(true);
        self.exits.handovers += 1;
        self.halted = false;
        self.irq_check = true;
        drop(vcpu);
        drop(vm);
        Ok(())
    }
}
