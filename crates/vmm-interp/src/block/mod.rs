//! Blocks: runs of instructions decoded once and kept, so that a loop is decoded on its first
//! pass only. A block holds the common instructions (ALU operations, MOV, XCHG, TEST, INC/DEC,
//! NOT/NEG, shifts, MOVZX/MOVSX, SETcc, LEA, PUSH/POP, LEAVE, the flag instructions; on
//! registers and memory; conditional jumps inside) up to a near jump, call or return; the CPU's
//! step runs everything else, and delivers a fault a block's instruction met. A block stops after an access that reached a device, so the machine looks at once, as
//! after a step.
//!
//! A block is found by its linear address, IP and code size, and is used only while the bytes
//! it was decoded from are still the bytes in memory: they are compared on entry, so
//! self-modifying code, a disk read into the code, or a different page mapped there never run
//! stale operations, with no write of anyone's needing to be watched. Once compared they are
//! trusted, at the physical address they were found at, until the call of [`Blocks::run`]
//! ends (only the CPU writes memory during it) or a block wrote to a page that holds code.

mod access;
mod decode;
mod fast;
mod groups;
mod lazy;
mod memory;
mod modify;
mod op;
mod pages;
mod run;

use decode::{decode_block, Decoded, MAX_OPS};
use fast::Fast;
use lazy::Lazy;
use pages::CodePages;
use run::{Code, Ran};

use crate::bus::Bus;
use crate::cpu::{Cpu, Model, CS};
use crate::flags::Flags;

/// The most bytes one block covers.
const MAX_BYTES: usize = 64;
/// Slots in the table that finds a block by its address (a power of two).
const SLOTS: usize = 4096;
/// The most instructions one call runs (then the machine looks for interrupts and requests).
const BUDGET: u32 = 1024;
/// Blocks kept before the table starts again empty.
const CAPACITY: usize = 2048;

/// A block: where it was decoded, the bytes it was decoded from, and its operations (in this
/// order in memory: what a lookup compares comes first).
#[repr(C)]
struct Block {
    linear: u32,
    /// Where its bytes were last found (paging may map `linear` elsewhere since).
    physical: u32,
    ip: u32,
    code32: bool,
    len: u8,
    count: u8,
    /// The bytes the decoder looked at (`len` of them).
    bytes: [u8; MAX_BYTES],
    ops: [Decoded; MAX_OPS],
    /// The same operations, specialised (`handlers` of them).
    fast: [Fast; MAX_OPS],
    handlers: u8,
    /// The [`Blocks::era`] in which the bytes were last found unchanged.
    checked: u64,
}

/// The blocks decoded so far.
pub struct Blocks {
    /// Each slot: 0, or one more than the index of the block last decoded there.
    slots: Vec<u16>,
    blocks: Vec<Block>,
    /// Blocks decoded (for `--stats` and the benchmarks).
    decoded: u64,
    /// Counts the calls of [`Blocks::run`] and the writes to pages that hold code in them: a
    /// block whose bytes were found unchanged in this era need not compare them again.
    era: u64,
    /// The pages blocks were decoded from.
    pages: CodePages,
}

impl Default for Blocks {
    fn default() -> Blocks {
        Blocks::new()
    }
}

impl Blocks {
    /// No blocks yet (the table's memory is taken as blocks are decoded).
    pub fn new() -> Blocks {
        Blocks {
            slots: Vec::new(),
            blocks: Vec::new(),
            decoded: 0,
            era: 0,
            pages: CodePages::default(),
        }
    }

    /// How many blocks were decoded (again after a change to their code, too).
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Runs the blocks from the CPU's CS:IP on, one after another, while there are blocks to
    /// run, for up to [`BUDGET`] instructions; returns how many instructions ran (0: none,
    /// the CPU's step must run the next instruction). Never runs under the trap flag, with a
    /// fault pending, or for the 8086's rules.
    pub fn run(&mut self, cpu: &mut Cpu, bus: &mut impl Bus) -> u32 {
        if cpu.model != Model::I386 || cpu.flags & Flags::TF != 0 {
            return 0;
        }
        // Between calls the firmware, the disks and other threads may have written anything.
        self.era += 1;
        let mut lazy = Lazy::DONE;
        let mut ran = 0;
        while ran < BUDGET {
            let Some((index, physical)) = self.enter(cpu, bus) else {
                break;
            };
            let block = self.run_block(index, physical, cpu, bus, &mut lazy);
            if self.pages.take_written() {
                // Perhaps into another block's code.
                self.era += 1;
            }
            ran += block.count;
            if !block.go_on {
                break;
            }
        }
        lazy.settle(cpu);
        ran
    }

    /// The block at the CPU's CS:IP, when one can run there, and its physical address.
    fn enter(&mut self, cpu: &mut Cpu, bus: &mut impl Bus) -> Option<(usize, u32)> {
        if cpu.pending.is_some() || (!cpu.code32 && cpu.ip > 0xFFFF) {
            // A fault for the step to deliver; or 16-bit code past 64 KiB (a 32-bit jump got
            // it there), where the step wraps IP after the first byte.
            return None;
        }
        let linear = cpu.linear(CS, cpu.ip);
        let physical = if !cpu.paging {
            linear
        } else if linear & !0xFFF == cpu.fetch_page {
            cpu.fetch_frame | (linear & 0xFFF)
        } else {
            // Another page (a call into another function, say): through the page tables.
            cpu.code_frame(bus, linear)?
        };
        let index = self.find(cpu, bus, linear, physical)?;
        (self.blocks[index].count > 0).then_some((index, physical))
    }

    /// Runs block `index` (its code at `physical`), and again while it jumps back to its own
    /// start.
    fn run_block(
        &self,
        index: usize,
        physical: u32,
        cpu: &mut Cpu,
        bus: &mut impl Bus,
        lazy: &mut Lazy,
    ) -> Ran {
        let block = &self.blocks[index];
        let count = usize::from(block.count);
        let code = Code {
            physical,
            len: u32::from(block.len),
            pages: &self.pages,
        };
        let ops = (
            &block.ops[..count],
            &block.fast[..usize::from(block.handlers)],
        );
        cpu.run_passes(bus, (block.ip, code, BUDGET), ops, lazy)
    }

    /// The block at `linear` for this IP and code size, decoded now if there is none or its
    /// bytes changed; `None` when the code there is not memory.
    fn find(&mut self, cpu: &Cpu, bus: &mut impl Bus, linear: u32, physical: u32) -> Option<usize> {
        let room = block_room(cpu, linear);
        let slot = slot_of(linear);
        if let Some(&entry) = self.slots.get(slot).filter(|&&e| e != 0) {
            let index = usize::from(entry - 1);
            let b = &mut self.blocks[index];
            // Trusted without a look at memory only where it was found, in this era.
            if b.linear == linear
                && b.ip == cpu.ip
                && b.code32 == cpu.code32
                && usize::from(b.len) <= room
                && ((b.checked == self.era && b.physical == physical)
                    || bus.code_matches(physical, &b.bytes[..usize::from(b.len)]))
            {
                b.checked = self.era;
                if b.physical != physical {
                    // The same code where paging now maps it: writes there count too.
                    b.physical = physical;
                    self.pages.mark(physical);
                }
                return Some(index);
            }
        }
        let mut bytes = [0u8; MAX_BYTES];
        if !bus.read_code(physical, &mut bytes[..room]) {
            return None;
        }
        Some(self.decode(cpu, (linear, physical), slot, &bytes[..room]))
    }

    /// Decodes the block at `linear` (`physical`) from `bytes` and keeps it in `slot`.
    fn decode(
        &mut self,
        cpu: &Cpu,
        (linear, physical): (u32, u32),
        slot: usize,
        bytes: &[u8],
    ) -> usize {
        let mut ops = [Decoded::NONE; MAX_OPS];
        let (count, looked) = decode_block(bytes, cpu.code32, &mut ops);
        let mut fast = [Fast::SLOW; MAX_OPS];
        let handlers = fast::specialise(&ops[..count], cpu.ip, |ip| cpu.block_ip(ip), &mut fast);
        if self.slots.is_empty() || self.blocks.len() == CAPACITY {
            self.slots.clear();
            self.slots.resize(SLOTS, 0);
            self.blocks.clear();
            self.pages.clear();
        }
        self.pages.mark(physical);
        if (0x10_0000..0x11_0000).contains(&physical) {
            // Where the A20 gate may wrap it, the code may also be written at its alias.
            self.pages.mark(physical & 0xF_FFFF);
        }
        let mut block = Block {
            linear,
            physical,
            ip: cpu.ip,
            code32: cpu.code32,
            bytes: [0; MAX_BYTES],
            len: looked as u8,
            ops,
            fast,
            handlers: handlers as u8,
            checked: self.era,
            count: count as u8,
        };
        block.bytes[..looked].copy_from_slice(&bytes[..looked]);
        self.blocks.push(block);
        self.slots[slot] = self.blocks.len() as u16;
        self.decoded += 1;
        self.blocks.len() - 1
    }
}

/// Where the table looks for the block at `linear`.
fn slot_of(linear: u32) -> usize {
    (linear ^ (linear >> 12)) as usize % SLOTS
}

/// How many bytes a block at `linear` may cover: not past its page (one translation covers
/// it), nor past the end of a 16-bit code segment's 64 KiB (where IP wraps).
fn block_room(cpu: &Cpu, linear: u32) -> usize {
    let page = 0x1000 - (linear & 0xFFF) as usize;
    let segment = if cpu.code32 {
        usize::MAX
    } else {
        0x1_0000 - (cpu.ip & 0xFFFF) as usize
    };
    MAX_BYTES.min(page).min(segment)
}
