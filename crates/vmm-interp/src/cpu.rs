//! The CPU's state and the helpers every instruction uses: registers by size, segments and
//! linear addresses, fetching, the stack, and real-mode interrupts.

use crate::bus::Bus;
use crate::flags::Flags;

/// Which CPU's rules apply where the 8086 and the 386 differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// The 8086: 20-bit addresses that wrap at 1 MiB, word accesses that wrap inside their
    /// segment, shift counts not masked, `push sp` pushing the new SP, FLAGS bits 12-15 set,
    /// the opcodes 60h-6Fh, C0h, C1h, C8h, C9h aliasing others, no invalid-opcode exception,
    /// a divide error returning past the division.
    I8086,
    /// A 386 in real mode (what picovmm's machines are): the 386's instructions and prefixes.
    I386,
}

/// A segment register: its selector and what the CPU keeps of its descriptor (in real mode
/// the base is the selector times 16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The selector.
    pub selector: u16,
    /// The linear base.
    pub base: u32,
    /// The last valid offset.
    pub limit: u32,
    /// The descriptor's attributes as VMX and KVM lay them out: bits 0-3 the type, 4 S,
    /// 5-6 DPL, 7 present, 12 AVL, 13 L, 14 D/B, 15 G.
    pub attrs: u16,
}

/// The attributes of a real-mode data segment (present, writable, accessed).
pub const REAL_DATA: u16 = 0x93;
/// The attributes of a real-mode code segment (present, readable, accessed).
pub const REAL_CODE: u16 = 0x9B;

/// The segment registers, in the order instructions encode them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentRegister {
    /// ES.
    Es = 0,
    /// CS.
    Cs = 1,
    /// SS.
    Ss = 2,
    /// DS.
    Ds = 3,
    /// FS.
    Fs = 4,
    /// GS.
    Gs = 5,
}

/// Why [`Cpu::step`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction ran; go on.
    Continue,
    /// `hlt`: the CPU waits for an interrupt.
    Halt,
    /// A port write asked the CPU to stop after it ([`Bus::io_out`] returned true).
    Io,
    /// An instruction this interpreter does not implement (its first byte, and where).
    Unsupported {
        /// The opcode byte (0x0F for a two-byte opcode, whose second byte is `second`).
        opcode: u8,
        /// The second opcode byte of a 0x0F instruction.
        second: u8,
        /// CS:IP of the instruction.
        at: (u16, u32),
    },
    /// A fault while delivering a double fault (real mode: a vector past the IVT's limit).
    TripleFault,
}

/// Where a memory operand's address comes from: a segment and an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub seg: usize,
    pub offset: u32,
}

/// An x86 CPU in real mode.
#[derive(Clone, Debug)]
pub struct Cpu {
    /// EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI.
    pub regs: [u32; 8],
    /// The instruction pointer.
    pub ip: u32,
    /// FLAGS.
    pub flags: u32,
    /// ES, CS, SS, DS, FS, GS.
    pub segs: [Segment; 6],
    /// The interrupt vector table's base and limit (`lidt`).
    pub idt: (u32, u16),
    /// The global descriptor table's base and limit (`lgdt`).
    pub gdt: (u32, u16),
    /// CR0.
    pub cr0: u32,
    /// CR2, CR3 and CR4.
    pub cr: [u32; 3],
    /// The task register (`ltr`): the TSS that holds the inner rings' stacks.
    pub tr: Segment,
    /// The local descriptor table register (`lldt`).
    pub ldtr: Segment,
    /// Which rules apply.
    pub model: Model,
    /// Instructions executed.
    pub executed: u64,
    /// How many iterations of a `rep` string instruction run in one step.
    pub rep_chunk: u32,
    /// Interrupts are held off for one instruction (after `sti`, `mov ss`, `pop ss`).
    pub(crate) shadow: bool,
    // The instruction being executed.
    pub(crate) start_ip: u32,
    pub(crate) seg_override: Option<usize>,
    pub(crate) op32: bool,
    pub(crate) addr32: bool,
    pub(crate) rep: Rep,
    /// CS is a 32-bit code segment (protected mode, D set): operands and addresses are 32-bit
    /// unless a prefix says otherwise.
    pub(crate) code32: bool,
    /// SS is a 32-bit stack (protected mode, B set): pushes and pops move ESP, not SP.
    pub(crate) stack32: bool,
    /// CR0.PE and CR0.PG, as the hot path asks.
    pub(crate) protected: bool,
    pub(crate) paging: bool,
    /// What stops the instruction being executed part-way (protected mode): the registers go
    /// back to where it started and the exception is delivered.
    pub(crate) pending: Option<crate::trap::Trap>,
    /// Linear-to-physical translations (paging).
    pub(crate) tlb: Box<crate::paging::Tlb>,
    /// The code page instructions are fetched from: its linear address and its frame
    /// (`NO_PAGE` when none: paging off, or forgotten with the TLB or a new CS).
    pub(crate) fetch_page: u32,
    pub(crate) fetch_frame: u32,
    /// The physical address of the last write through paging ([`WRITE_ACROSS_PAGES`] when
    /// it spanned two pages), for whoever must know where a write landed.
    pub(crate) last_write: u32,
    /// The segment registers an instruction changed (a bit each) and what they held before:
    /// a fault puts them back.
    pub(crate) segs_changed: u8,
    pub(crate) segs_before: [Segment; 6],
    /// The x87.
    pub fpu: crate::x87::Fpu,
    /// The model-specific registers kept (RDMSR, WRMSR).
    pub msrs: Box<crate::msr::Msrs>,
    /// The debug registers (MOV DRn).
    pub debug: Box<crate::debug_regs::DebugRegisters>,
}

/// No page (page addresses have their low 12 bits clear).
pub(crate) const NO_PAGE: u32 = 1;
/// [`Cpu::last_write`] after a write that spanned two pages.
pub(crate) const WRITE_ACROSS_PAGES: u32 = u32::MAX;

/// A string instruction's repeat prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rep {
    None,
    /// F3: REP / REPE.
    Equal,
    /// F2: REPNE.
    NotEqual,
}

/// Sizes of operands in bytes.
pub(crate) const BYTE: u8 = 1;
pub(crate) const WORD: u8 = 2;
pub(crate) const DWORD: u8 = 4;

pub(crate) const ES: usize = 0;
pub(crate) const CS: usize = 1;
pub(crate) const SS: usize = 2;
pub(crate) const DS: usize = 3;

/// The mask of an operand of `size` bytes.
pub(crate) fn mask(size: u8) -> u32 {
    match size {
        BYTE => 0xFF,
        WORD => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}

/// The sign bit of an operand of `size` bytes.
pub(crate) fn sign(size: u8) -> u32 {
    1 << (u32::from(size) * 8 - 1)
}

impl Cpu {
    /// A CPU as after reset, but at 0000:0000 with all registers zero.
    pub fn new(model: Model) -> Cpu {
        let seg = Segment {
            selector: 0,
            base: 0,
            limit: 0xFFFF,
            attrs: REAL_DATA,
        };
        let mut segs = [seg; 6];
        segs[CS].attrs = REAL_CODE;
        let system = |attrs| Segment { attrs, ..seg };
        Cpu {
            regs: [0; 8],
            ip: 0,
            flags: Flags::RESERVED1 | model.fixed_flags(),
            segs,
            idt: (0, 0x3FF),
            gdt: (0, 0),
            cr0: 0,
            cr: [0; 3],
            tr: system(0x8B),
            ldtr: system(0x82),
            model,
            executed: 0,
            rep_chunk: 1024,
            shadow: false,
            start_ip: 0,
            seg_override: None,
            op32: false,
            addr32: false,
            rep: Rep::None,
            code32: false,
            stack32: false,
            protected: false,
            paging: false,
            pending: None,
            tlb: Box::default(),
            fetch_page: NO_PAGE,
            fetch_frame: 0,
            last_write: 0,
            segs_changed: 0,
            segs_before: [seg; 6],
            fpu: crate::x87::Fpu::default(),
            msrs: Box::default(),
            debug: Box::default(),
        }
    }

    /// Recomputes what the hot path keeps of CR0, CS and SS (after the state was set from
    /// outside: a snapshot, a debugger, a hand-over), and forgets every translation.
    pub fn refresh_modes(&mut self) {
        self.protected = self.model == Model::I386 && self.cr0 & 1 != 0;
        self.paging = self.protected && self.cr0 & (1 << 31) != 0;
        self.refresh_segments();
        self.tlb.flush();
    }

    /// Recomputes what the hot path keeps of CS and SS, after the segment registers alone were
    /// set from outside (the firmware's calls change no control register, so the
    /// translations stand).
    pub fn refresh_segments(&mut self) {
        self.code32 = self.protected && self.segs[CS].attrs & (1 << 14) != 0;
        self.stack32 = self.protected && self.segs[SS].attrs & (1 << 14) != 0;
        self.fetch_page = NO_PAGE;
    }

    /// The current privilege level (0 in real mode).
    pub fn cpl(&self) -> u8 {
        match (self.protected, self.flags & Flags::VM != 0) {
            (false, _) => 0,
            (true, true) => 3,
            (true, false) => (self.segs[CS].selector & 3) as u8,
        }
    }

    /// Virtual-8086 mode: protected mode running real-mode code at CPL 3.
    pub(crate) fn v86(&self) -> bool {
        self.protected && self.flags & Flags::VM != 0
    }

    /// Protected mode's segmentation applies (protected mode, not virtual-8086 mode).
    pub(crate) fn segmented(&self) -> bool {
        self.protected && self.flags & Flags::VM == 0
    }

    /// Starts at `segment:offset` in real mode.
    pub fn set_real_mode_entry(&mut self, segment: u16, offset: u16) {
        self.load_segment(CS, segment);
        self.ip = u32::from(offset);
    }

    /// Loads a segment register in real mode.
    pub fn load_segment(&mut self, seg: usize, selector: u16) {
        self.segs[seg].selector = selector;
        self.segs[seg].base = u32::from(selector) << 4;
    }

    /// A 16-bit register (0 AX ... 7 DI).
    pub fn reg16(&self, r: usize) -> u16 {
        self.regs[r] as u16
    }

    /// Register `r` of `size` bytes: for bytes, 0-3 are AL CL DL BL and 4-7 AH CH DH BH.
    pub(crate) fn reg(&self, r: usize, size: u8) -> u32 {
        match size {
            BYTE if r < 4 => self.regs[r] & 0xFF,
            BYTE => (self.regs[r - 4] >> 8) & 0xFF,
            WORD => self.regs[r] & 0xFFFF,
            _ => self.regs[r],
        }
    }

    /// Sets register `r` of `size` bytes, leaving the rest of the register as it was.
    pub(crate) fn set_reg(&mut self, r: usize, size: u8, value: u32) {
        match size {
            BYTE if r < 4 => self.regs[r] = (self.regs[r] & !0xFF) | (value & 0xFF),
            BYTE => self.regs[r - 4] = (self.regs[r - 4] & !0xFF00) | ((value & 0xFF) << 8),
            WORD => self.regs[r] = (self.regs[r] & !0xFFFF) | (value & 0xFFFF),
            _ => self.regs[r] = value,
        }
    }

    /// Whether flag `f` is set.
    pub(crate) fn flag(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Sets or clears flag `f`.
    pub(crate) fn set_flag(&mut self, f: u32, on: bool) {
        if on {
            self.flags |= f;
        } else {
            self.flags &= !f;
        }
    }

    /// FLAGS as the model keeps it: bit 1 always set; on the 8086 bits 12-15 too; bits 3 and
    /// 5 always clear.
    pub(crate) fn normalize_flags(&mut self, value: u32) -> u32 {
        let value = (value | Flags::RESERVED1) & !((1 << 3) | (1 << 5));
        match self.model {
            Model::I8086 => (value & 0xFFFF) | 0xF000,
            // AC (bit 18) and ID (bit 21) are writable, as on a 486 with CPUID: software
            // tells a 386 from a 486 by toggling AC, and finds CPUID by toggling ID.
            Model::I386 => value & 0x0027_7FD7,
        }
    }

    /// The linear address of `offset` in segment `seg`.
    pub(crate) fn linear(&self, seg: usize, offset: u32) -> u32 {
        match self.model {
            Model::I8086 => (self.segs[seg].base + (offset & 0xFFFF)) & 0xF_FFFF,
            Model::I386 => self.segs[seg].base.wrapping_add(offset),
        }
    }

    /// Reads `size` bytes at `at`.
    #[inline(always)]
    pub(crate) fn read(&mut self, bus: &mut impl Bus, at: Address, size: u8) -> u32 {
        let linear = self.linear(at.seg, at.offset);
        if self.paging {
            return self.read_paged(bus, linear, size);
        }
        match (self.model, size) {
            (_, BYTE) => u32::from(bus.read8(linear)),
            (Model::I8086, _) => {
                let hi = bus.read8(self.linear(at.seg, at.offset.wrapping_add(1)));
                u32::from(u16::from_le_bytes([bus.read8(linear), hi]))
            }
            (Model::I386, WORD) => u32::from(bus.read16(linear)),
            (Model::I386, _) => bus.read32(linear),
        }
    }

    /// A read through paging (0 and the fault pending when it faults).
    #[inline(never)]
    fn read_paged(&mut self, bus: &mut impl Bus, linear: u32, size: u8) -> u32 {
        if self.pending.is_some() {
            // The instruction has faulted: no access (a device's register may have effects).
            return 0;
        }
        if let Some(physical) = self.tlb_hit(linear, size, false) {
            return crate::paging::read_physical(bus, physical, size);
        }
        let user = self.cpl() == 3;
        match self.read_linear(bus, linear, size, user) {
            Ok(v) => v,
            Err(trap) => {
                self.pend(trap);
                0
            }
        }
    }

    /// Writes `size` bytes at `at` (nothing once the instruction has faulted).
    #[inline(always)]
    pub(crate) fn write(&mut self, bus: &mut impl Bus, at: Address, size: u8, value: u32) {
        let linear = self.linear(at.seg, at.offset);
        if self.protected {
            return self.write_protected(bus, linear, size, value);
        }
        match (self.model, size) {
            (_, BYTE) => bus.write8(linear, value as u8),
            (Model::I8086, _) => {
                bus.write8(linear, value as u8);
                let next = at.offset.wrapping_add(1);
                bus.write8(self.linear(at.seg, next), (value >> 8) as u8);
            }
            (Model::I386, WORD) => bus.write16(linear, value as u16),
            (Model::I386, _) => bus.write32(linear, value),
        }
    }

    /// A write in protected mode: through paging, and none once the instruction faulted.
    #[inline(never)]
    fn write_protected(&mut self, bus: &mut impl Bus, linear: u32, size: u8, value: u32) {
        if self.pending.is_some() {
            return;
        }
        if self.paging {
            if let Some(physical) = self.tlb_hit(linear, size, true) {
                crate::paging::write_physical(bus, physical, size, value);
                self.last_write = physical;
                return;
            }
        }
        let user = self.cpl() == 3;
        if let Err(trap) = self.write_linear(bus, linear, size, value, user) {
            self.pend(trap);
        }
    }

    /// The next instruction byte.
    #[inline(always)]
    pub(crate) fn fetch8(&mut self, bus: &mut impl Bus) -> u8 {
        let linear = self.linear(CS, self.ip);
        let b = if self.paging {
            if linear & !0xFFF == self.fetch_page {
                bus.fetch8(self.fetch_frame | (linear & 0xFFF))
            } else {
                self.fetch8_paged(bus, linear)
            }
        } else {
            bus.fetch8(linear)
        };
        self.ip = self.ip.wrapping_add(1) & self.ip_mask();
        b
    }

    /// IP wraps at 64 KiB in 16-bit code.
    #[inline(always)]
    fn ip_mask(&self) -> u32 {
        if self.code32 {
            u32::MAX
        } else {
            0xFFFF
        }
    }

    /// An instruction byte through paging (0 and the fault pending when it faults).
    #[inline(never)]
    fn fetch8_paged(&mut self, bus: &mut impl Bus, linear: u32) -> u8 {
        if self.pending.is_some() {
            return 0;
        }
        let user = self.cpl() == 3;
        match self.translate(bus, linear, false, user) {
            Ok(physical) => {
                (self.fetch_page, self.fetch_frame) = (linear & !0xFFF, physical & !0xFFF);
                bus.fetch8(physical)
            }
            Err(trap) => {
                self.pend(trap);
                0
            }
        }
    }

    /// The physical address of code at `linear` through the page tables, its page kept for the
    /// fetches that follow; `None` where fetching there would fault (nothing pending, CR2 as it
    /// was: the step fetches it and takes the fault).
    pub(crate) fn code_frame(&mut self, bus: &mut impl Bus, linear: u32) -> Option<u32> {
        let user = self.cpl() == 3;
        let cr2 = self.cr[0];
        match self.translate(bus, linear, false, user) {
            Ok(physical) => {
                (self.fetch_page, self.fetch_frame) = (linear & !0xFFF, physical & !0xFFF);
                Some(physical)
            }
            Err(_) => {
                self.cr[0] = cr2;
                None
            }
        }
    }

    /// The next `size` instruction bytes, little-endian.
    pub(crate) fn fetch(&mut self, bus: &mut impl Bus, size: u8) -> u32 {
        let mut value = 0;
        for i in 0..size {
            value |= u32::from(self.fetch8(bus)) << (8 * i);
        }
        value
    }

    /// The operand size of the instruction: 2, or 4 with the operand-size prefix.
    pub(crate) fn osize(&self) -> u8 {
        if self.op32 {
            DWORD
        } else {
            WORD
        }
    }

    /// SP or ESP, as the stack's size says (16-bit in real mode).
    pub(crate) fn sp(&self) -> u32 {
        if self.stack32 {
            self.regs[4]
        } else {
            self.regs[4] & 0xFFFF
        }
    }

    /// Sets SP (a 16-bit stack) or ESP.
    pub(crate) fn set_sp(&mut self, value: u32) {
        if self.stack32 {
            self.regs[4] = value;
        } else {
            self.set_reg(4, WORD, value);
        }
    }

    /// The stack's address size: 4 for a 32-bit stack, else 2.
    pub(crate) fn stack_size(&self) -> u8 {
        if self.stack32 {
            DWORD
        } else {
            WORD
        }
    }

    /// Pushes `size` bytes.
    pub(crate) fn push(&mut self, bus: &mut impl Bus, size: u8, value: u32) {
        let sp = self.sp().wrapping_sub(u32::from(size));
        self.set_sp(sp);
        let at = Address {
            seg: SS,
            offset: self.sp(),
        };
        self.write(bus, at, size, value);
    }

    /// Pops `size` bytes.
    pub(crate) fn pop(&mut self, bus: &mut impl Bus, size: u8) -> u32 {
        let at = Address {
            seg: SS,
            offset: self.sp(),
        };
        let value = self.read(bus, at, size);
        self.set_sp(self.sp().wrapping_add(u32::from(size)));
        value
    }

    /// Delivers interrupt `vector` through the IVT: pushes FLAGS, CS and IP (the return
    /// address `ret`), clears IF and TF, and jumps to the handler.
    pub(crate) fn interrupt(&mut self, bus: &mut impl Bus, vector: u8, ret: u32) -> Exit {
        if self.protected {
            // In virtual-8086 mode `int n` is IOPL-sensitive: below 3 it is the monitor's #GP.
            if self.v86() && self.iopl() < 3 {
                self.pend(crate::trap::Trap::gp(0));
                return Exit::Continue;
            }
            return self.software_interrupt(bus, vector, ret);
        }
        let entry = u32::from(vector) * 4;
        if self.model == Model::I386 && entry + 3 > u32::from(self.idt.1) {
            return Exit::TripleFault;
        }
        let flags = self.flags;
        self.push(bus, WORD, flags);
        self.push(bus, WORD, u32::from(self.segs[CS].selector));
        self.push(bus, WORD, ret);
        self.set_flag(Flags::IF | Flags::TF, false);
        let base = self.idt.0.wrapping_add(entry);
        let offset = bus.read16(self.mask_linear(base));
        let segment = bus.read16(self.mask_linear(base.wrapping_add(2)));
        self.load_segment(CS, segment);
        self.ip = u32::from(offset);
        Exit::Continue
    }

    /// A linear address as the model's address bus carries it.
    pub(crate) fn mask_linear(&self, addr: u32) -> u32 {
        match self.model {
            Model::I8086 => addr & 0xF_FFFF,
            Model::I386 => addr,
        }
    }

    /// A fault's exception: the 8086 returns past the faulting instruction, the 386 to it.
    pub(crate) fn fault(&mut self, bus: &mut impl Bus, vector: u8) -> Exit {
        if self.protected {
            self.pend(crate::trap::Trap::fault(vector));
            return Exit::Continue;
        }
        let ret = match self.model {
            Model::I8086 => self.ip,
            Model::I386 => self.start_ip,
        };
        self.interrupt(bus, vector, ret)
    }

    /// Takes an external interrupt (from the PIC) if interrupts are on and not held off;
    /// returns whether it was taken. Wakes a halted CPU.
    pub fn external_interrupt(&mut self, bus: &mut impl Bus, vector: u8) -> bool {
        if !self.can_interrupt() {
            return false;
        }
        let ret = self.ip;
        if self.protected {
            return self.external_interrupt_protected(bus, vector) == Exit::Continue;
        }
        self.interrupt(bus, vector, ret) == Exit::Continue
    }

    /// Where the instruction last executed (or being executed) starts.
    pub fn start_ip(&self) -> u32 {
        self.start_ip
    }

    /// Whether IF is set (a `hlt` then waits for an interrupt).
    pub fn interrupts_enabled(&self) -> bool {
        self.flag(Flags::IF)
    }

    /// Whether an external interrupt could be taken now: IF set, no interrupt shadow, and no
    /// exception waiting for the step to deliver (a block's instruction that faulted: the
    /// fault belongs to that instruction and goes first; an interrupt taken between them
    /// would have the fault delivered in the interrupt handler).
    #[inline]
    pub fn can_interrupt(&self) -> bool {
        self.flag(Flags::IF) && !self.shadow && self.pending.is_none()
    }
}

impl Model {
    /// FLAGS bits that always read as 1.
    fn fixed_flags(self) -> u32 {
        match self {
            Model::I8086 => 0xF000,
            Model::I386 => 0,
        }
    }
}
