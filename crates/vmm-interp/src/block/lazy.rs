//! Flags left for later: an arithmetic instruction in a block records its operands and
//! result, and FLAGS is worked out only when something reads it (a conditional jump asks just
//! for the flag it tests) or the block hands the CPU back. A loop of `add`, `dec`, `jnz` then
//! never computes a parity or an overflow it does not use.
//!
//! Working FLAGS out calls the step's own arithmetic on the recorded operands, so both paths
//! leave the same bits.

use crate::cpu::{mask, sign, Cpu};
use crate::flags::Flags;

/// What set the arithmetic flags last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// FLAGS is up to date.
    Done,
    /// `a + b + carry`.
    Add,
    /// `a - b - carry`.
    Sub,
    /// A logical operation with result `r` (CF, OF, AF cleared).
    Logic,
    /// INC or DEC of `a`; `carry` is the CF they keep.
    Inc,
    Dec,
}

/// The last flag-setting operation, while FLAGS is not yet worked out.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lazy {
    pub kind: Kind,
    pub size: u8,
    pub a: u32,
    pub b: u32,
    pub carry: u32,
    /// The result, masked to `size`.
    pub r: u32,
    /// CF as the operation leaves it (worked out when it is recorded: INC and DEC, which
    /// follow arithmetic in most loops, read it).
    pub cf: u32,
}

impl Lazy {
    /// FLAGS is up to date.
    pub const DONE: Lazy = Lazy {
        kind: Kind::Done,
        size: 1,
        a: 0,
        b: 0,
        carry: 0,
        r: 0,
        cf: 0,
    };

    /// Records an operation.
    #[inline(always)]
    pub fn set(&mut self, kind: Kind, size: u8, a: u32, b: u32, carry: u32, r: u32) {
        let m = u64::from(mask(size));
        let (wa, wb, wc) = (u64::from(a), u64::from(b), u64::from(carry));
        let cf = match kind {
            Kind::Add => u32::from(wa + wb + wc > m),
            Kind::Sub => u32::from((wa & m) < (wb & m) + wc),
            Kind::Done | Kind::Logic => 0,
            Kind::Inc | Kind::Dec => carry,
        };
        *self = Lazy {
            kind,
            size,
            a,
            b,
            carry,
            r,
            cf,
        };
    }

    /// CF.
    #[inline(always)]
    pub fn carry(&self, cpu: &Cpu) -> u32 {
        match self.kind {
            Kind::Done => cpu.flags & Flags::CF,
            _ => self.cf,
        }
    }

    /// ZF.
    #[inline(always)]
    pub fn zero(&self, cpu: &Cpu) -> bool {
        match self.kind {
            Kind::Done => cpu.flags & Flags::ZF != 0,
            _ => self.r == 0,
        }
    }

    /// Whether condition `cc` holds: ZF, CF and SF straight from the operation, the others
    /// from FLAGS worked out.
    #[inline(always)]
    pub fn condition(&mut self, cpu: &mut Cpu, cc: u8) -> bool {
        let holds = match (cc >> 1, self.kind) {
            (_, Kind::Done) => return cpu.condition(cc),
            (1, _) => self.carry(cpu) != 0,
            (2, _) => self.r == 0,
            (3, _) => self.carry(cpu) != 0 || self.r == 0,
            (4, _) => self.r & sign(self.size) != 0,
            _ => return self.settled_condition(cpu, cc),
        };
        holds != (cc & 1 != 0)
    }

    /// Condition `cc` from FLAGS worked out (OF and PF: rarely tested, and out of the way of
    /// the common ones).
    #[cold]
    #[inline(never)]
    fn settled_condition(&mut self, cpu: &mut Cpu, cc: u8) -> bool {
        self.settle(cpu);
        cpu.condition(cc)
    }

    /// Works FLAGS out with the step's arithmetic; FLAGS is then up to date.
    pub fn settle(&mut self, cpu: &mut Cpu) {
        let Lazy {
            kind,
            size,
            a,
            b,
            carry,
            r,
            ..
        } = *self;
        match kind {
            Kind::Done => return,
            Kind::Add => {
                cpu.add(a, b, carry, size);
            }
            Kind::Sub => {
                cpu.sub(a, b, carry, size);
            }
            Kind::Logic => {
                cpu.logic(r, size);
            }
            Kind::Inc | Kind::Dec => {
                cpu.set_flag(Flags::CF, carry != 0);
                cpu.inc_dec(a, kind == Kind::Dec, size);
            }
        }
        self.kind = Kind::Done;
    }
}
