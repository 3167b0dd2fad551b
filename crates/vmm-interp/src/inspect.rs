//! The instructions that ask about a selector without loading it (protected mode): LAR (its
//! access rights), LSL (its limit), VERR and VERW (whether it could be read or written). Each
//! answers in ZF: set when the descriptor is there and visible at the current privilege.

use crate::bus::Bus;
use crate::cpu::{Cpu, Exit, WORD};
use crate::decode::ModRm;
use crate::flags::Flags;
use crate::segments::Descriptor;

/// What is asked of a selector.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Query {
    AccessRights,
    Limit,
    Readable,
    Writable,
}

impl Cpu {
    /// The descriptor `selector` names, when the current privilege may see it: not null,
    /// inside its table, of a type the query accepts, and (but for conforming code) with a
    /// DPL no more privileged than CPL and RPL.
    fn visible(&mut self, bus: &mut impl Bus, selector: u16, query: Query) -> Option<Descriptor> {
        if selector & !3 == 0 {
            return None;
        }
        let (desc, _) = self.descriptor(bus, selector).ok()?;
        let typed = if desc.is_segment() {
            match query {
                Query::AccessRights | Query::Limit => true,
                Query::Readable => !desc.is_code() || desc.kind() & 2 != 0,
                Query::Writable => !desc.is_code() && desc.kind() & 2 != 0,
            }
        } else {
            match query {
                // TSSs (16/32-bit, available or busy), LDTs; LAR also gates.
                Query::AccessRights => matches!(desc.kind(), 1..=5 | 9 | 0xB | 0xC),
                Query::Limit => matches!(desc.kind(), 1..=3 | 9 | 0xB),
                Query::Readable | Query::Writable => false,
            }
        };
        let rpl = (selector & 3) as u8;
        let privileged = desc.dpl() < self.cpl().max(rpl);
        let conforming = desc.conforming() && query != Query::Writable;
        (typed && (conforming || !privileged)).then_some(desc)
    }

    /// LAR (0Fh 02h) and LSL (0Fh 03h): `reg` gets the access rights or the limit.
    pub(crate) fn lar_lsl(&mut self, bus: &mut impl Bus, m: &ModRm, limit: bool) -> Exit {
        let selector = self.get_rm(bus, m, WORD) as u16;
        let query = if limit {
            Query::Limit
        } else {
            Query::AccessRights
        };
        let found = self.visible(bus, selector, query);
        self.set_flag(Flags::ZF, found.is_some());
        if let Some(desc) = found {
            let size = self.osize();
            let value = match (limit, size) {
                (true, _) => desc.limit(),
                (false, WORD) => desc.high & 0xFF00,
                (false, _) => desc.high & 0x00FF_FF00,
            };
            self.set_reg(usize::from(m.reg), size, value);
        }
        Exit::Continue
    }

    /// VERR and VERW (0Fh 00h /4 and /5).
    pub(crate) fn verify(&mut self, bus: &mut impl Bus, m: &ModRm, write: bool) -> Exit {
        let selector = self.get_rm(bus, m, WORD) as u16;
        let query = if write {
            Query::Writable
        } else {
            Query::Readable
        };
        let found = self.visible(bus, selector, query).is_some();
        self.set_flag(Flags::ZF, found);
        Exit::Continue
    }
}
