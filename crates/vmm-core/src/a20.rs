//! The A20 gate: address line 20, which a PC can hold low so that addresses from 1 MiB wrap
//! onto 0 as they did on the 8086 (FFFF:0010 is 0x00000). HIMEM.SYS switches it off and on and
//! tests the wrap; the keyboard controller's output port, port 0x92 and the BIOS's int 15h
//! AX=240xh are the switches (devices that hold an [`A20Gate`]).
//!
//! Real-mode code reaches at most 0x10FFEF, so the wrap that matters is the 64 KiB at 1 MiB:
//! that stretch is a memory slot of its own ([`crate::memory_map`]), showing the RAM at 1 MiB
//! while the gate is on and the RAM at 0 while it is off. A change costs two KVM ioctls (or a
//! rebuilt view in the interpreter), and nothing while the gate stays as it is.

use std::sync::{Arc, Mutex};

use crate::memory_map::{MapError, Mapping, MemoryMap, SlotId};

/// Where the wrap starts: 1 MiB.
pub const WRAP_BASE: u64 = 0x10_0000;
/// How much of it the gate folds onto 0.
pub const WRAP_LEN: u64 = 0x1_0000;

/// The gate, shared by the devices that switch it.
#[derive(Clone)]
pub struct A20Gate {
    inner: Arc<Mutex<Gate>>,
}

struct Gate {
    map: MemoryMap,
    slot: SlotId,
    /// What the slot shows with the gate on (the RAM at 1 MiB, or nothing).
    on: Option<Mapping>,
    /// What it shows with the gate off (the RAM at 0), unless something else claims 1 MiB.
    off: Option<Mapping>,
    enabled: bool,
}

impl A20Gate {
    /// A gate, on, over slot `slot` of `map`.
    pub(crate) fn new(
        map: MemoryMap,
        slot: SlotId,
        on: Option<Mapping>,
        off: Option<Mapping>,
    ) -> A20Gate {
        A20Gate {
            inner: Arc::new(Mutex::new(Gate {
                map,
                slot,
                on,
                off,
                enabled: true,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether addresses from 1 MiB reach memory above 1 MiB (true) or wrap onto 0.
    pub fn enabled(&self) -> bool {
        self.lock().enabled
    }

    /// Switches the gate; the memory map follows at once.
    pub fn set(&self, enabled: bool) -> Result<(), MapError> {
        let mut gate = self.lock();
        if gate.enabled == enabled {
            return Ok(());
        }
        gate.enabled = enabled;
        let shown = if enabled { gate.on } else { gate.off };
        gate.map.set(gate.slot, shown)
    }

    /// Something other than RAM claims memory at 1 MiB (a device): the gate stops folding
    /// it, so the device is never hidden.
    pub(crate) fn forget_wrap(&self) {
        let mut gate = self.lock();
        gate.off = None;
        if !gate.enabled {
            let (slot, on) = (gate.slot, gate.on);
            let _ = gate.map.set(slot, on);
        }
    }
}
