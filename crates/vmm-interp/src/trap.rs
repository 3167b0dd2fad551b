//! Exceptions in protected mode. An instruction that faults part-way (a page fault, a bad
//! selector) records a [`Trap`]; the step puts the registers back as they were when the
//! instruction started and delivers the exception through the IDT. A fault while delivering
//! one becomes a double fault, and a fault while delivering that a shutdown.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, Segment};

/// #DE: divide error.
pub(crate) const DE: u8 = 0;
/// #DF: double fault.
pub(crate) const DF: u8 = 8;
/// #TS: invalid TSS.
pub(crate) const TS: u8 = 10;
/// #NP: segment not present.
pub(crate) const NP: u8 = 11;
/// #SS: stack-segment fault.
pub(crate) const SS_FAULT: u8 = 12;
/// #GP: general protection.
pub(crate) const GP: u8 = 13;
/// #PF: page fault.
pub(crate) const PF: u8 = 14;

/// What stops an instruction part-way in protected mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trap {
    /// An exception: its vector and, for those that push one, its error code.
    Fault { vector: u8, code: Option<u32> },
    /// Something this interpreter does not do (a task switch, a call gate, virtual-8086
    /// mode, PAE paging): the run stops before the instruction so that KVM may take it over.
    Unsupported { opcode: u8, second: u8 },
    /// A triple fault met while delivering an external interrupt.
    Shutdown,
}

impl Trap {
    /// Exception `vector`, with error code 0 where the vector has one.
    pub(crate) fn fault(vector: u8) -> Trap {
        let code = has_error_code(vector).then_some(0);
        Trap::Fault { vector, code }
    }

    /// Exception `vector` with error code `code`.
    pub(crate) fn with_code(vector: u8, code: u32) -> Trap {
        Trap::Fault {
            vector,
            code: Some(code),
        }
    }

    /// #GP with `code` (a selector's index and table bits, or 0).
    pub(crate) fn gp(code: u32) -> Trap {
        Trap::with_code(GP, code)
    }
}

/// Whether exception `vector` pushes an error code.
fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17)
}

/// The divide error and the segment faults: two of these in a row make a double fault.
fn contributory(vector: u8) -> bool {
    matches!(vector, DE | TS | NP | SS_FAULT | GP)
}

/// Whether a fault `second` met while delivering `first` makes a double fault.
fn doubles(first: u8, second: u8) -> bool {
    let severe = |v| contributory(v) || v == PF;
    (contributory(first) && contributory(second)) || (first == PF && severe(second))
}

/// The registers an instruction may change, as they were when it started (the segment
/// registers it changes keep their old values themselves: [`Cpu::put_segment`]).
#[derive(Clone, Copy)]
pub(crate) struct Saved {
    regs: [u32; 8],
    ip: u32,
    flags: u32,
    code32: bool,
    stack32: bool,
}

impl Cpu {
    /// Records `trap` as the instruction's outcome (the first one counts).
    pub(crate) fn pend(&mut self, trap: Trap) {
        if self.pending.is_none() {
            self.pending = Some(trap);
        }
    }

    /// The registers an instruction may change; from here the segment registers keep what
    /// they held.
    pub(crate) fn save(&mut self) -> Saved {
        self.segs_changed = 0;
        Saved {
            regs: self.regs,
            ip: self.ip,
            flags: self.flags,
            code32: self.code32,
            stack32: self.stack32,
        }
    }

    /// Sets segment register `seg`, keeping its value from before the instruction.
    pub(crate) fn put_segment(&mut self, seg: usize, value: Segment) {
        if self.segs_changed & (1 << seg) == 0 {
            self.segs_before[seg] = self.segs[seg];
            self.segs_changed |= 1 << seg;
        }
        self.segs[seg] = value;
    }

    /// Puts back what [`Cpu::save`] kept.
    pub(crate) fn restore(&mut self, saved: &Saved) {
        self.regs = saved.regs;
        self.ip = saved.ip;
        self.flags = saved.flags;
        for seg in 0..6 {
            if self.segs_changed & (1 << seg) != 0 {
                self.segs[seg] = self.segs_before[seg];
            }
        }
        self.segs_changed = 0;
        self.code32 = saved.code32;
        self.stack32 = saved.stack32;
        self.fetch_page = crate::cpu::NO_PAGE;
    }

    /// Ends an instruction that recorded `trap`: the registers go back to `saved` (where the
    /// instruction started) and the exception is delivered, or the run stops.
    pub(crate) fn raise(&mut self, bus: &mut impl Bus, trap: Trap, saved: Option<Saved>) -> Exit {
        if let Some(saved) = saved {
            self.restore(&saved);
        }
        match trap {
            Trap::Fault { .. } => {
                let ret = self.start_ip;
                self.exception(bus, trap, ret)
            }
            Trap::Unsupported { opcode, second } => Exit::Unsupported {
                opcode,
                second,
                at: (self.segs[crate::cpu::CS].selector, self.start_ip),
            },
            Trap::Shutdown => Exit::TripleFault,
        }
    }

    /// Delivers exception `trap` returning to `ret`; a fault on the way becomes the next one to
    /// deliver, a double fault, or a shutdown.
    pub(crate) fn exception(&mut self, bus: &mut impl Bus, trap: Trap, ret: u32) -> Exit {
        let saved = self.save();
        let mut current = trap;
        // First, then maybe a second, then a double fault: a fourth attempt cannot happen.
        for _ in 0..4 {
            let Trap::Fault { vector, code } = current else {
                return self.raise(bus, current, None);
            };
            match self.deliver(bus, vector, ret, code, false) {
                Ok(()) => return Exit::Continue,
                Err(next) => {
                    self.restore(&saved);
                    let Trap::Fault { vector: second, .. } = next else {
                        return self.raise(bus, next, None);
                    };
                    if vector == DF {
                        return Exit::TripleFault;
                    }
                    current = if doubles(vector, second) {
                        Trap::with_code(DF, 0)
                    } else {
                        next
                    };
                }
            }
        }
        Exit::TripleFault
    }

    /// `int n`, `int3`, `into` in protected mode: through the IDT, the gate's DPL checked.
    pub(crate) fn software_interrupt(&mut self, bus: &mut impl Bus, vector: u8, ret: u32) -> Exit {
        if let Err(trap) = self.deliver(bus, vector, ret, None, true) {
            self.pend(trap);
        }
        Exit::Continue
    }

    /// An interrupt from the PIC in protected mode.
    pub(crate) fn external_interrupt_protected(&mut self, bus: &mut impl Bus, vector: u8) -> Exit {
        let saved = self.save();
        let ret = self.ip;
        match self.deliver(bus, vector, ret, None, false) {
            Ok(()) => Exit::Continue,
            Err(trap) => {
                self.restore(&saved);
                let exit = self.exception(bus, trap, ret);
                if exit == Exit::TripleFault {
                    self.pending = Some(Trap::Shutdown);
                }
                exit
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_two_contributory_faults_double() {
        assert!(doubles(GP, NP));
        assert!(doubles(PF, PF));
        assert!(doubles(PF, GP));
        assert!(!doubles(GP, PF));
        assert!(!doubles(3, GP));
        assert!(!doubles(6, PF));
    }

    #[test]
    fn test_error_codes_where_the_386_pushes_them() {
        assert_eq!(Trap::fault(13), Trap::with_code(13, 0));
        assert_eq!(
            Trap::fault(6),
            Trap::Fault {
                vector: 6,
                code: None
            }
        );
        assert_eq!(Trap::fault(8), Trap::with_code(8, 0));
    }
}
