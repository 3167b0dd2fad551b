//! x87 operands in memory: loads and stores of every format, with the rounding the control
//! word says and the masked responses to what does not fit.

use super::value::{self, Ext};
use crate::bus::Bus;
use crate::cpu::{Address, Cpu, BYTE, DWORD, WORD};
use rustc_apfloat::{Float, Status, StatusAnd};

/// A memory operand's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Single,
    Double,
    Extended,
    Int16,
    Int32,
    Int64,
    Bcd,
}

impl Cpu {
    /// `count` bytes at `at`, little-endian (at most 16).
    pub(super) fn read_bytes(&mut self, bus: &mut impl Bus, at: Address, count: u32) -> u128 {
        let mut value = 0u128;
        let mut done = 0;
        while done < count {
            let size = if count - done >= 4 {
                DWORD
            } else if count - done >= 2 {
                WORD
            } else {
                BYTE
            };
            let part = Address {
                seg: at.seg,
                offset: at.offset.wrapping_add(done),
            };
            value |= u128::from(self.read(bus, part, size)) << (8 * done);
            done += u32::from(size);
        }
        value
    }

    /// Writes the low `count` bytes of `value` at `at`, little-endian.
    pub(super) fn write_bytes(&mut self, bus: &mut impl Bus, at: Address, count: u32, value: u128) {
        let mut done = 0;
        while done < count {
            let size = if count - done >= 4 {
                DWORD
            } else if count - done >= 2 {
                WORD
            } else {
                BYTE
            };
            let part = Address {
                seg: at.seg,
                offset: at.offset.wrapping_add(done),
            };
            self.write(bus, part, size, (value >> (8 * done)) as u32);
            done += u32::from(size);
        }
    }

    /// Loads an operand of `format` as an x87 value.
    pub(super) fn x87_load(
        &mut self,
        bus: &mut impl Bus,
        at: Address,
        format: Format,
    ) -> StatusAnd<Ext> {
        let ok = |v| Status::OK.and(v);
        match format {
            Format::Single => value::from_single(self.read_bytes(bus, at, 4) as u32),
            Format::Double => value::from_double(self.read_bytes(bus, at, 8) as u64),
            Format::Extended => ok(value::ext(self.read_bytes(bus, at, 10))),
            Format::Int16 => ok(value::from_integer(i128::from(
                self.read_bytes(bus, at, 2) as i16
            ))),
            Format::Int32 => ok(value::from_integer(i128::from(
                self.read_bytes(bus, at, 4) as i32
            ))),
            Format::Int64 => ok(value::from_integer(i128::from(
                self.read_bytes(bus, at, 8) as i64
            ))),
            Format::Bcd => {
                let bytes = self.read_bytes(bus, at, 10).to_le_bytes();
                let mut bcd = [0u8; 10];
                bcd.copy_from_slice(&bytes[..10]);
                ok(value::from_bcd(&bcd))
            }
        }
    }

    /// Stores `v` as `format` (`truncate`: FISTTP's rounding toward zero). A masked invalid
    /// operation stores the format's indefinite; an unmasked one stores nothing.
    pub(super) fn x87_store(
        &mut self,
        bus: &mut impl Bus,
        at: Address,
        format: Format,
        v: Ext,
        truncate: bool,
    ) {
        let round = if truncate {
            rustc_apfloat::Round::TowardZero
        } else {
            value::rounding(self.fpu.control)
        };
        let (bits, count, status) = match format {
            Format::Single => {
                let r = value::to_single(v, round);
                (u128::from(r.value), 4, r.status)
            }
            Format::Double => {
                let r = value::to_double(v, round);
                (u128::from(r.value), 8, r.status)
            }
            Format::Extended => (v.to_bits(), 10, Status::OK),
            Format::Int16 | Format::Int32 | Format::Int64 => {
                let width = match format {
                    Format::Int16 => 16,
                    Format::Int32 => 32,
                    _ => 64,
                };
                let r = value::to_integer(v, width, round);
                (r.value as u128, width as u32 / 8, r.status)
            }
            Format::Bcd => {
                let r = value::to_bcd(v, round);
                let mut bytes = [0u8; 16];
                bytes[..10].copy_from_slice(&r.value);
                (u128::from_le_bytes(bytes), 10, r.status)
            }
        };
        self.fpu.note(status);
        if status.contains(Status::INVALID_OP) && self.fpu.control & 1 == 0 {
            return;
        }
        self.write_bytes(bus, at, count, bits);
    }
}
