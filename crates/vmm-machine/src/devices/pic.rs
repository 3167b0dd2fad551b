//! `pic`: the two 8259A interrupt controllers and the ELCR.

use vmm_devices::pic;

use super::attach::{ports, Attach};
use super::registry::DeviceHandle;
use crate::error::MachineError;
use crate::spec::DeviceRange;

pub(super) fn ranges() -> Vec<DeviceRange> {
    vec![
        ports(pic::MASTER_PORT, pic::PORTS),
        ports(pic::SLAVE_PORT, pic::PORTS),
        ports(pic::ELCR_PORT, pic::PORTS),
    ]
}

pub(super) fn attach(at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    // The board makes the pair before any device, so that every device can have a line.
    let dev = at
        .pic
        .clone()
        .ok_or(MachineError::Internal("the PIC was not made"))?;
    for base in [pic::MASTER_PORT, pic::SLAVE_PORT, pic::ELCR_PORT] {
        at.vm.register_pio(base, pic::PORTS, dev.clone())?;
    }
    Ok(DeviceHandle::Pic(dev))
}
