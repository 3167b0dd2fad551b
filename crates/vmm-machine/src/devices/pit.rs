//! `pit`: the 8254 timer on the host clock (IRQ 0) and the speaker port 0x61.

use vmm_devices::pit;

use super::attach::{ports, Attach};
use super::pit_clock::PitTimer;
use super::registry::DeviceHandle;
use crate::error::MachineError;
use crate::spec::DeviceRange;

pub(super) fn ranges() -> Vec<DeviceRange> {
    vec![
        ports(pit::PIT_PORT, pit::PORTS),
        ports(pit::SPEAKER_PORT, 1),
    ]
}

pub(super) fn attach(at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    let timer = PitTimer::new(at.lines.line(0));
    let dev = timer.device();
    at.vm.register_pio(pit::PIT_PORT, pit::PORTS, dev.clone())?;
    at.vm.register_pio(pit::SPEAKER_PORT, 1, dev.clone())?;
    at.started.pit = Some(timer);
    Ok(DeviceHandle::Pit(dev))
}

pub(super) fn describe() -> String {
    " irq 0".to_owned()
}
