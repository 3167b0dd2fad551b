//! A debugger's translation of a linear address under the interpreter's paging: the page
//! tables walked in guest RAM, nothing set in them (no accessed bits), no fault raised.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_interp::{Bus, Cpu};

/// Guest RAM as the page walk reads it: what is not RAM reads as 0xFF, writes go nowhere.
struct RamOnly<'a>(&'a GuestMemoryMmap);

impl Bus for RamOnly<'_> {
    fn read8(&mut self, addr: u32) -> u8 {
        self.0
            .read_obj::<u8>(GuestAddress(u64::from(addr)))
            .unwrap_or(0xFF)
    }

    fn write8(&mut self, _addr: u32, _value: u8) {}

    fn io_in(&mut self, _port: u16, _size: u8) -> u32 {
        u32::MAX
    }

    fn io_out(&mut self, _port: u16, _size: u8, _value: u32) -> bool {
        false
    }
}

/// The guest-physical address of `linear` for `cpu` (a copy: the walk may not change it),
/// `None` where nothing is mapped.
pub(super) fn linear_to_physical(cpu: &Cpu, memory: &GuestMemoryMmap, linear: u64) -> Option<u64> {
    let linear = u32::try_from(linear).ok()?;
    let mut cpu = cpu.clone();
    cpu.debug_translate(&mut RamOnly(memory), linear)
        .map(u64::from)
}
