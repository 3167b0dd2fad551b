//! picovmm's own x86 CPU: an interpreter of the 8086/186/286 instruction set with the 386's
//! additions (operand- and address-size prefixes, 32-bit registers, FS and GS, MOVZX/MOVSX,
//! SETcc, BT*, SHLD/SHRD, long Jcc, BSF/BSR, CWDE/CDQ...), in real mode and in the 386's
//! protected mode: descriptors and their checks, 16- and 32-bit code, rings with the TSS's
//! stacks, interrupts and exceptions through the IDT (double faults, shutdown), and 32-bit
//! paging with 4 KiB and 4 MiB pages.
//!
//! It knows no KVM and no device: a [`Cpu`] executes instructions against a [`Bus`] (memory
//! by linear address, and ports), and says when it stops ([`Exit`]). picovmm's machine wraps
//! it as a CPU backend beside KVM; the tests run it against the SingleStepTests 8086 vectors
//! with [`Model::I8086`], whose rules differ from a 386's in a few documented places.
//!
//! ```
//! use vmm_interp::{Cpu, Exit, FlatMemory, Model};
//!
//! let mut memory = FlatMemory::new(1 << 20);
//! memory.load(0x7C00, &[0xB8, 0x34, 0x12, 0x40, 0xF4]); // mov ax, 0x1234; inc ax; hlt
//! let mut cpu = Cpu::new(Model::I386);
//! cpu.set_real_mode_entry(0, 0x7C00);
//! while cpu.step(&mut memory) != Exit::Halt {}
//! assert_eq!(cpu.reg16(0), 0x1235);
//! ```

#![deny(missing_docs)]

mod alu;
mod block;
mod bus;
mod cpu;
mod debug_regs;
mod decode;
mod exec;
mod far;
mod flags;
mod gate;
mod inspect;
mod msr;
mod paging;
mod privilege;
mod segments;
mod string;
mod sysenter;
mod task;
mod trap;
mod v86;
mod x87;

pub use block::Blocks;
pub use bus::{Bus, FlatMemory};
pub use cpu::{Cpu, Exit, Model, Segment, SegmentRegister, REAL_CODE, REAL_DATA};
pub use debug_regs::DebugRegisters;
pub use flags::Flags;
pub use msr::{Msrs, EFER, EFER_LME, TSC};
pub use x87::Fpu;
