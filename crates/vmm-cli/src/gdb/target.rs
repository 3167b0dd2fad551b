//! picovmm as a gdbstub target: every register and memory access is a request the paused
//! vCPU serves on its own thread (`VcpuControl::call`); resume and step set the vCPU's debug
//! state and let it go on.
//!
//! Breakpoints of both kinds gdb asks for (`Z0` software, `Z1` hardware) use the CPU's four
//! debug registers, so no breakpoint ever changes a byte of guest memory (the guest cannot see
//! one by reading its code) and they work in real mode, where this host's KVM does not
//! intercept `int3`. A fifth is refused: gdb says it cannot insert it.
//!
//! Write watchpoints (`Z2`, gdb's `watch`) are checked by the vCPU itself: while one is set, a
//! `continue` single-steps the guest and compares the watched bytes after every instruction,
//! on the vCPU thread, without a round trip to gdb. The debug registers' data breakpoints are
//! not used: KVM emulates real-mode and ring-0 code on this project's host, and its emulator
//! does not check them, so they never fire. Read and access watchpoints (`rwatch`, `awatch`)
//! cannot be checked by comparing values and are refused.

use std::marker::PhantomData;
use std::sync::Arc;

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint as GdbHwBreakpoint, HwBreakpointOps, HwWatchpoint,
    HwWatchpointOps, SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::monitor_cmd::{outputln, ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use num_traits::{FromPrimitive, Zero};
use vmm_core::vcpu::{BreakOn, HW_BREAKPOINT_SLOTS};
use vmm_core::{CpuBackend, DebugEvent, GuestDebug, HwBreakpoint, VcpuControl};

use super::hub::{Hub, Stop, Watch};
use super::regs::{self, GdbRegs, Mode};
use vmm_machine::{GuestView, MachineHandle};

/// What went wrong serving gdb.
pub type Error = &'static str;

/// A breakpoint in a debug register.
#[derive(Clone, Copy)]
struct Slot {
    bp: HwBreakpoint,
}

/// A write watchpoint: linear address and length.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Watched {
    addr: u64,
    len: usize,
}

/// The guest, for one gdb session.
pub struct GdbTarget<A> {
    control: VcpuControl,
    hub: Arc<Hub>,
    machine: MachineHandle,
    /// The CPU was in real mode when gdb attached: the target description says i8086.
    real_mode: bool,
    slots: Vec<Slot>,
    watches: Vec<Watched>,
    _arch: PhantomData<A>,
}

impl<A> GdbTarget<A> {
    /// A target over the paused machine behind `machine`.
    pub fn new(machine: MachineHandle, hub: Arc<Hub>, real_mode: bool) -> Self {
        GdbTarget {
            control: machine.control().clone(),
            hub,
            machine,
            real_mode,
            slots: Vec::new(),
            watches: Vec::new(),
            _arch: PhantomData,
        }
    }

    /// Where the vCPU reports its stops.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The vCPU's control handle.
    pub fn control(&self) -> &VcpuControl {
        &self.control
    }

    /// Runs `work` on the vCPU thread.
    fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn CpuBackend) -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.control.call(work).ok_or("the vCPU is gone")
    }

    /// [`GdbTarget::call`] for gdbstub's target methods: a vCPU that is gone is fatal.
    fn served<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn CpuBackend) -> T + Send + 'static,
    ) -> Result<T, TargetError<Error>> {
        self.call(work).map_err(TargetError::Fatal)
    }

    /// Lets the vCPU run, single-stepping or not, with the breakpoints set.
    fn go(&mut self, single_step: bool) -> Result<(), Error> {
        // Watches are checked after every instruction, of a continue or of a step.
        let mut watches = Vec::new();
        for w in self.watches.clone() {
            let value = self.read_memory(w.addr, w.len)?;
            watches.push(Watch {
                addr: w.addr,
                value,
            });
        }
        let debug = GuestDebug {
            single_step: single_step || !watches.is_empty(),
            breakpoints: self.slots.iter().map(|s| s.bp).collect(),
        };
        self.hub.set_watches(watches, single_step);
        self.hub.clear();
        // Posted, not called: the paused vCPU sets its debug registers and then resumes, with
        // one thread hand-over instead of three (a step's latency is mostly hand-overs).
        let posted = self.control.post(move |vcpu| {
            if let Err(e) = vcpu.set_guest_debug(&debug) {
                crate::errln!("picovmm: gdb: {e}; the guest runs without breakpoints");
            }
        });
        if !posted {
            return Err("the vCPU is gone");
        }
        self.control.resume();
        Ok(())
    }

    /// The stop reason gdb is told for what the vCPU reported.
    pub fn stop_reason<U: FromPrimitive + Zero>(&self, stop: Stop) -> SingleThreadStopReason<U> {
        match stop {
            Stop::Paused => SingleThreadStopReason::Signal(Signal::SIGINT),
            Stop::Ended(status) => SingleThreadStopReason::Exited(status as u8),
            Stop::Watch(i) => match self.watches.get(i) {
                Some(w) => SingleThreadStopReason::Watch {
                    tid: (),
                    kind: WatchKind::Write,
                    addr: U::from_u64(w.addr).unwrap_or_else(U::zero),
                },
                None => SingleThreadStopReason::Signal(Signal::SIGTRAP),
            },
            Stop::Debug(event) => self.debug_reason(&event),
        }
    }

    fn debug_reason<U: FromPrimitive + Zero>(
        &self,
        event: &DebugEvent,
    ) -> SingleThreadStopReason<U> {
        let slot = event.breakpoint_slot().and_then(|i| self.slots.get(i));
        match slot {
            Some(_) => SingleThreadStopReason::HwBreak(()),
            None if event.is_single_step() => SingleThreadStopReason::DoneStep,
            None => SingleThreadStopReason::Signal(Signal::SIGTRAP),
        }
    }

    fn add_slot(&mut self, slot: Slot) -> bool {
        if self.slots.len() >= HW_BREAKPOINT_SLOTS {
            return false;
        }
        self.slots.push(slot);
        true
    }

    fn remove_slot(&mut self, addr: u64) -> bool {
        match self.slots.iter().position(|s| s.bp.addr == addr) {
            Some(i) => {
                self.slots.remove(i);
                true
            }
            None => false,
        }
    }

    /// Guest memory at a linear address, read on the vCPU thread.
    fn read_memory(&self, addr: u64, len: usize) -> Result<Vec<u8>, Error> {
        let view = self.machine.memory().clone();
        self.call(move |vcpu| read_guest(vcpu, &view, addr, len))
    }
}

/// Guest memory at a linear address: as much as is readable from the start, page by page
/// through the guest's paging, from whatever the guest sees there (RAM, the VGA windows, the
/// BIOS ROM).
pub fn read_guest(vcpu: &mut dyn CpuBackend, view: &GuestView, addr: u64, len: usize) -> Vec<u8> {
    let paging = paging_on(vcpu);
    let mut out = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let linear = addr.wrapping_add(done as u64);
        let n = ((0x1000 - (linear & 0xFFF)) as usize).min(len - done);
        let Some(physical) = physical(vcpu, paging, linear) else {
            break;
        };
        let got = view.read(physical, &mut out[done..done + n]);
        done += got;
        if got < n {
            break;
        }
    }
    out.truncate(done);
    out
}

/// Writes guest memory at a linear address; false if any of it is not there.
fn write_guest(vcpu: &mut dyn CpuBackend, view: &GuestView, addr: u64, data: &[u8]) -> bool {
    let paging = paging_on(vcpu);
    let mut done = 0;
    while done < data.len() {
        let linear = addr.wrapping_add(done as u64);
        let n = ((0x1000 - (linear & 0xFFF)) as usize).min(data.len() - done);
        let Some(physical) = physical(vcpu, paging, linear) else {
            return false;
        };
        if view.write(physical, &data[done..done + n]) < n {
            return false;
        }
        done += n;
    }
    true
}

fn paging_on(vcpu: &dyn CpuBackend) -> bool {
    vcpu.sregs()
        .map(|s| s.cr0 & (1 << 31) != 0)
        .unwrap_or(false)
}

/// The guest-physical address of `linear`.
fn physical(vcpu: &dyn CpuBackend, paging: bool, linear: u64) -> Option<u64> {
    if paging {
        vcpu.translate(linear)
    } else {
        Some(linear)
    }
}

impl<A> Target for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    type Arch = A;
    type Error = Error;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        self.real_mode.then_some(self)
    }
}

impl<A> SingleThreadBase for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn read_registers(&mut self, out: &mut A::Registers) -> TargetResult<(), Self> {
        let (regs, sregs, fpu) = self
            .served(|vcpu| {
                let fpu = vcpu.state().map(|s| s.fpu).unwrap_or_default();
                Some((vcpu.regs().ok()?, vcpu.sregs().ok()?, fpu))
            })?
            .ok_or(TargetError::NonFatal)?;
        *out = A::Registers::from_kvm(&regs, &sregs, &fpu);
        Ok(())
    }

    fn write_registers(&mut self, new: &A::Registers) -> TargetResult<(), Self> {
        let (mut regs, mut sregs) = self
            .served(|vcpu| Some((vcpu.regs().ok()?, vcpu.sregs().ok()?)))?
            .ok_or(TargetError::NonFatal)?;
        new.to_kvm(&mut regs, &mut sregs);
        let written = self
            .served(move |vcpu| vcpu.set_sregs(&sregs).is_ok() && vcpu.set_regs(&regs).is_ok())?;
        written.then_some(()).ok_or(TargetError::NonFatal)
    }

    fn read_addrs(&mut self, start: A::Usize, data: &mut [u8]) -> TargetResult<usize, Self> {
        let addr: u64 = start.into();
        let len = data.len();
        let view = self.machine.memory().clone();
        let bytes = self.served(move |vcpu| read_guest(vcpu, &view, addr, len))?;
        data[..bytes.len()].copy_from_slice(&bytes);
        if bytes.is_empty() && len > 0 {
            return Err(TargetError::NonFatal);
        }
        Ok(bytes.len())
    }

    fn write_addrs(&mut self, start: A::Usize, data: &[u8]) -> TargetResult<(), Self> {
        let addr: u64 = start.into();
        let data = data.to_vec();
        let view = self.machine.memory().clone();
        self.served(move |vcpu| write_guest(vcpu, &view, addr, &data))?
            .then_some(())
            .ok_or(TargetError::NonFatal)
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<A> SingleThreadResume for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.go(false)
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl<A> SingleThreadSingleStep for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.go(true)
    }
}

impl<A> Breakpoints for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

fn execute(addr: u64) -> HwBreakpoint {
    HwBreakpoint {
        addr,
        on: BreakOn::Execute,
        len: 1,
    }
}

impl<A> SwBreakpoint for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn add_sw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.add_slot(Slot {
            bp: execute(addr.into()),
        }))
    }

    fn remove_sw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_slot(addr.into()))
    }
}

impl<A> GdbHwBreakpoint for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn add_hw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.add_slot(Slot {
            bp: execute(addr.into()),
        }))
    }

    fn remove_hw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove_slot(addr.into()))
    }
}

impl<A> HwWatchpoint for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn add_hw_watchpoint(
        &mut self,
        addr: A::Usize,
        len: A::Usize,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let len: u64 = len.into();
        if kind != WatchKind::Write || len == 0 || len > MAX_WATCH_LEN {
            return Ok(false);
        }
        self.watches.push(Watched {
            addr: addr.into(),
            len: len as usize,
        });
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: A::Usize,
        len: A::Usize,
        _kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let w = Watched {
            addr: addr.into(),
            len: Into::<u64>::into(len) as usize,
        };
        match self.watches.iter().position(|x| *x == w) {
            Some(i) => {
                self.watches.remove(i);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The longest range one watchpoint covers.
const MAX_WATCH_LEN: u64 = 64;

impl<A> MonitorCmd for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), Error> {
        let cmd = String::from_utf8_lossy(cmd);
        let mut words = cmd.split_whitespace();
        match (words.next(), words.next()) {
            (Some("screen"), None) => match self.machine.capture() {
                Some(frame) => {
                    let text = frame.text().unwrap_or_default();
                    if text.is_empty() {
                        outputln!(out, "(the screen is blank)");
                    }
                    for line in text.lines() {
                        outputln!(out, "{line}");
                    }
                }
                None => outputln!(out, "this machine has no vga-text device"),
            },
            (Some("regs"), None) => {
                let (r, s) = self
                    .call(|vcpu| Some((vcpu.regs().ok()?, vcpu.sregs().ok()?)))?
                    .ok_or("cannot read the registers")?;
                outputln!(
                    out,
                    "mode {:?}  cs:ip={:04x}:{:04x}  linear pc {:#x}",
                    Mode::of(&s),
                    s.cs.selector,
                    r.rip,
                    regs::pc(&r, &s)
                );
                outputln!(
                    out,
                    "ss:sp={:04x}:{:04x} ds={:04x} es={:04x} fs={:04x} gs={:04x}",
                    s.ss.selector,
                    r.rsp,
                    s.ds.selector,
                    s.es.selector,
                    s.fs.selector,
                    s.gs.selector
                );
                outputln!(
                    out,
                    "cr0={:#x} cr3={:#x} cr4={:#x} efer={:#x}",
                    s.cr0,
                    s.cr3,
                    s.cr4,
                    s.efer
                );
            }
            (Some("exits"), None) => {
                let c = self.call(|vcpu| vcpu.exits())?;
                outputln!(
                    out,
                    "exits {} (interrupts injected {})",
                    c.total,
                    c.injected
                );
                for (name, n) in c.by_reason().iter().filter(|(_, n)| *n > 0) {
                    outputln!(out, "  {name} {n}");
                }
            }
            (Some("linear"), Some(segoff)) => match parse_segoff(segoff) {
                Some((seg, off)) => {
                    let linear = (u64::from(seg) << 4) + u64::from(off);
                    outputln!(out, "{seg:04x}:{off:04x} = {linear:#x}");
                }
                None => outputln!(out, "usage: monitor linear SEG:OFF (hex), e.g. 07c0:0010"),
            },
            _ => {
                outputln!(out, "picovmm monitor commands:");
                outputln!(out, "  screen          the VGA text screen now");
                outputln!(
                    out,
                    "  regs            CS:IP and the segment and control registers"
                );
                outputln!(out, "  exits           the vCPU's exits so far, by reason");
                outputln!(
                    out,
                    "  linear SEG:OFF  the linear address of a real-mode SEG:OFF"
                );
            }
        }
        Ok(())
    }
}

fn parse_segoff(text: &str) -> Option<(u16, u16)> {
    let (seg, off) = text.split_once(':')?;
    let hex = |t: &str| u16::from_str_radix(t.trim_start_matches("0x"), 16).ok();
    Some((hex(seg)?, hex(off)?))
}

/// gdb's target description for real mode: i386's registers, disassembled as 8086 code.
const I8086_XML: &str = r#"<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>i8086</architecture><osabi>none</osabi><feature name="org.gnu.gdb.i386.sse"></feature></target>"#;

impl<A> TargetDescriptionXmlOverride for GdbTarget<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: GdbRegs,
    A::Usize: Into<u64>,
{
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let xml = I8086_XML.as_bytes();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(xml.len());
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_segoff() {
        assert_eq!(parse_segoff("07c0:0010"), Some((0x07C0, 0x10)));
        assert_eq!(parse_segoff("0x07c0:0x10"), Some((0x07C0, 0x10)));
        assert_eq!(parse_segoff("nope"), None);
    }
}
