//! What a BIOS service may touch: guest memory, the port bus, time, and a way to wait. The
//! VMM implements it over the real machine; tests implement it over plain arrays.

use std::time::Duration;

/// The machine around a BIOS call.
pub trait Machine {
    /// Guest-physical bytes at `addr` (0xFF where nothing is mapped).
    fn read(&mut self, addr: u32, buf: &mut [u8]);
    /// Writes guest-physical bytes as the guest would (dropped where nothing is mapped, and
    /// where the ROM is).
    fn write(&mut self, addr: u32, buf: &[u8]);
    /// Places the BIOS's own ROM image: the one write that reaches write-protected memory.
    fn load_rom(&mut self, addr: u32, buf: &[u8]) {
        self.write(addr, buf);
    }
    /// A byte from a port, as the guest would read it.
    fn inb(&mut self, port: u16) -> u8;
    /// A byte to a port, as the guest would write it.
    fn outb(&mut self, port: u16, value: u8);
    /// A 16-bit word from a port (one access, as `in ax, dx`).
    fn inw(&mut self, port: u16) -> u16;
    /// A 16-bit word to a port (one access, as `out dx, ax`).
    fn outw(&mut self, port: u16, value: u16);
    /// Wall-clock time: seconds since the Unix epoch, and the nanoseconds of the second.
    fn now(&self) -> (u64, u32);
    /// Forgets earlier wake-ups; called before looking for what a service waits for.
    fn clear_wake(&mut self);
    /// Waits until something may have changed (an interrupt, input, a stop) or `timeout`.
    fn wait(&mut self, timeout: Duration);
    /// A message for the user (a service the guest asked for that the BIOS does not have).
    fn log(&mut self, message: &str);
    /// Whether guest-physical `[addr, addr + len)` is all memory (RAM or a device's window), so
    /// a transfer there lands somewhere.
    fn is_memory(&mut self, addr: u32, len: u64) -> bool {
        let _ = (addr, len);
        true
    }

    /// A guest-physical byte.
    fn read_u8(&mut self, addr: u32) -> u8 {
        let mut b = [0u8];
        self.read(addr, &mut b);
        b[0]
    }
    /// A guest-physical little-endian word.
    fn read_u16(&mut self, addr: u32) -> u16 {
        let mut b = [0u8; 2];
        self.read(addr, &mut b);
        u16::from_le_bytes(b)
    }
    /// A guest-physical little-endian doubleword.
    fn read_u32(&mut self, addr: u32) -> u32 {
        let mut b = [0u8; 4];
        self.read(addr, &mut b);
        u32::from_le_bytes(b)
    }
    /// Writes a guest-physical byte.
    fn write_u8(&mut self, addr: u32, value: u8) {
        self.write(addr, &[value]);
    }
    /// Writes a guest-physical little-endian word.
    fn write_u16(&mut self, addr: u32, value: u16) {
        self.write(addr, &value.to_le_bytes());
    }
    /// Writes a guest-physical little-endian doubleword.
    fn write_u32(&mut self, addr: u32, value: u32) {
        self.write(addr, &value.to_le_bytes());
    }
}
