//! What the CPU reads and writes: memory by linear address, and ports.

/// Memory by linear address, and the port space.
pub trait Bus {
    /// The byte at `addr`.
    fn read8(&mut self, addr: u32) -> u8;
    /// Writes the byte at `addr`.
    fn write8(&mut self, addr: u32, value: u8);
    /// The little-endian word at `addr`.
    fn read16(&mut self, addr: u32) -> u16 {
        u16::from_le_bytes([self.read8(addr), self.read8(addr.wrapping_add(1))])
    }
    /// Writes the little-endian word at `addr`.
    fn write16(&mut self, addr: u32, value: u16) {
        let [a, b] = value.to_le_bytes();
        self.write8(addr, a);
        self.write8(addr.wrapping_add(1), b);
    }
    /// The little-endian doubleword at `addr`.
    fn read32(&mut self, addr: u32) -> u32 {
        u32::from(self.read16(addr)) | u32::from(self.read16(addr.wrapping_add(2))) << 16
    }
    /// Writes the little-endian doubleword at `addr`.
    fn write32(&mut self, addr: u32, value: u32) {
        self.write16(addr, value as u16);
        self.write16(addr.wrapping_add(2), (value >> 16) as u16);
    }
    /// An instruction byte at `addr` (a read the CPU makes to run code, not for data).
    fn fetch8(&mut self, addr: u32) -> u8 {
        self.read8(addr)
    }
    /// Copies the instruction bytes at `addr` into `out`; false when they are not all memory
    /// (then no block of decoded instructions is kept for them, and each is fetched as it runs).
    fn read_code(&mut self, _addr: u32, _out: &mut [u8]) -> bool {
        false
    }
    /// Whether the instruction bytes at `addr` are still `expected` (a kept block's bytes); false
    /// when they differ or are not all memory.
    fn code_matches(&mut self, addr: u32, expected: &[u8]) -> bool {
        let mut bytes = [0u8; 64];
        let Some(bytes) = bytes.get_mut(..expected.len()) else {
            return false;
        };
        self.read_code(addr, bytes) && bytes == expected
    }
    /// Whether an access since the machine last looked reached a device (a block of decoded
    /// instructions then stops, so that the machine looks at once, as after a step).
    fn device_touched(&self) -> bool {
        false
    }
    /// Reads `size` bytes (1, 2 or 4) from `port`.
    fn io_in(&mut self, port: u16, size: u8) -> u32;
    /// Writes `size` bytes (1, 2 or 4) to `port`; true when the CPU must stop after this
    /// instruction (the machine has something to do: a firmware call, a stop request).
    fn io_out(&mut self, port: u16, size: u8, value: u32) -> bool;
    /// What RDTSC reads, given the instructions executed so far. Without a clock of the
    /// machine's, the instruction count (deterministic, for tests).
    fn time_stamp(&mut self, executed: u64) -> u64 {
        executed
    }
    /// What CPUID answers for `leaf` and `subleaf`: EAX, EBX, ECX, EDX. Without a table of the
    /// machine's, a 386-class CPU with no features ("picovmm CPU ").
    fn cpuid(&mut self, leaf: u32, _subleaf: u32) -> [u32; 4] {
        match leaf {
            0 => [
                1,
                u32::from_le_bytes(*b"pico"),
                u32::from_le_bytes(*b"CPU "),
                u32::from_le_bytes(*b"vmm "),
            ],
            1 => [0x0000_0300, 0, 0, 0],
            _ => [0; 4],
        }
    }
}

/// Plain memory from linear address 0, wrapping at its size (a power of two); no ports
/// (reads give 0xFF, as an open bus does). For tests and examples.
pub struct FlatMemory {
    bytes: Vec<u8>,
    mask: u32,
}

impl FlatMemory {
    /// `size` bytes of zeros (rounded up to a power of two).
    pub fn new(size: usize) -> FlatMemory {
        let size = size.next_power_of_two();
        FlatMemory {
            bytes: vec![0; size],
            mask: (size - 1) as u32,
        }
    }

    /// Copies `data` to `addr`.
    pub fn load(&mut self, addr: u32, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            self.write8(addr.wrapping_add(i as u32), b);
        }
    }
}

impl Bus for FlatMemory {
    fn read8(&mut self, addr: u32) -> u8 {
        self.bytes[(addr & self.mask) as usize]
    }

    fn write8(&mut self, addr: u32, value: u8) {
        self.bytes[(addr & self.mask) as usize] = value;
    }

    fn read_code(&mut self, addr: u32, out: &mut [u8]) -> bool {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.read8(addr.wrapping_add(i as u32));
        }
        true
    }

    fn io_in(&mut self, _port: u16, size: u8) -> u32 {
        match size {
            1 => 0xFF,
            2 => 0xFFFF,
            _ => 0xFFFF_FFFF,
        }
    }

    fn io_out(&mut self, _port: u16, _size: u8, _value: u32) -> bool {
        false
    }
}
