//! Virtual-8086 mode: protected mode running real-mode code at CPL 3 (EFLAGS.VM), as DOS's
//! memory managers and extenders (EMM386, JemmEx) and Windows 3.x run DOS. An IRET from ring 0
//! with VM in the popped EFLAGS enters it; segments are loaded as in real mode; CLI, STI,
//! PUSHF, POPF, INT n and IRET need IOPL 3 (below, they are the monitor's #GP); ports follow
//! the TSS's I/O bitmap; an interrupt or exception leaves it for ring 0 through the IDT,
//! pushing the virtual-8086 segment registers (far.rs).

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Segment, CS, SS};
use crate::flags::Flags;
use crate::trap::Trap;

/// A virtual-8086 segment: base selector*16, 64 KiB, present, DPL 3, writable data.
fn v86_segment(selector: u16) -> Segment {
    Segment {
        selector,
        base: u32::from(selector) << 4,
        limit: 0xFFFF,
        attrs: 0xF3,
    }
}

impl Cpu {
    /// IRET from ring 0 into virtual-8086 mode: `ip`, `cs` and `flags` popped already; ESP,
    /// SS, ES, DS, FS and GS follow on the stack, 32 bits each.
    pub(crate) fn iret_to_v86(
        &mut self,
        bus: &mut impl Bus,
        ip: u32,
        cs: u16,
        flags: u32,
    ) -> Result<(), Trap> {
        let mut popped = [0u32; 6];
        for value in popped.iter_mut() {
            *value = self.pop_checked(bus, 4)?;
        }
        let [sp, ss, es, ds, fs, gs] = popped;
        self.flags = self.normalize_flags(flags | Flags::VM);
        for (seg, selector) in [
            (0, es),
            (CS, u32::from(cs)),
            (SS, ss),
            (3, ds),
            (4, fs),
            (5, gs),
        ] {
            self.put_segment(seg, v86_segment(selector as u16));
        }
        (self.code32, self.stack32) = (false, false);
        self.fetch_page = crate::cpu::NO_PAGE;
        self.regs[4] = sp;
        self.ip = ip & 0xFFFF;
        Ok(())
    }

    /// IRET inside virtual-8086 mode: with IOPL 3 a real-mode return (IOPL and VM kept);
    /// below, the monitor's #GP(0).
    pub(crate) fn iret_v86(&mut self, bus: &mut impl Bus, size: u8) -> Exit {
        if self.iopl() < 3 {
            self.pend(Trap::gp(0));
            return Exit::Continue;
        }
        self.ip = self.pop(bus, size) & 0xFFFF;
        let cs = self.pop(bus, size) as u16;
        self.load_segment(CS, cs);
        let flags = self.pop(bus, size);
        self.set_flags_privileged(flags, size, 3);
        Exit::Continue
    }

    /// Leaving virtual-8086 mode for a ring-0 handler (on its stack already): the segment
    /// registers pushed, then nulled.
    pub(crate) fn push_v86_segments(&mut self, bus: &mut impl Bus) -> Result<(), Trap> {
        for seg in [5, 4, 3, 0] {
            let selector = u32::from(self.segs[seg].selector);
            self.push_checked(bus, 4, selector)?;
        }
        for seg in [0, 3, 4, 5] {
            self.put_segment(seg, Segment::default());
        }
        Ok(())
    }
}
