//! `rtc`: the MC146818 real-time clock and CMOS at ports 0x70/0x71 (IRQ 8), with the CMOS a
//! BIOS leaves (memory sizes, equipment, floppy types, checksum).

use vmm_devices::rtc::{self, Rtc};

use super::attach::{ports, Attach};
use super::registry::DeviceHandle;
use super::rtc_clock::RtcTimer;
use crate::error::MachineError;
use crate::spec::DeviceRange;

pub(super) fn ranges() -> Vec<DeviceRange> {
    vec![ports(rtc::INDEX_PORT, 1), ports(rtc::DATA_PORT, 1)]
}

pub(super) fn attach(at: &mut Attach<'_>) -> Result<DeviceHandle, MachineError> {
    let spec = &at.valid.spec;
    let regions = spec.memory.iter().map(|r| r.value);
    let top = regions.clone().map(|r| r.base + r.size).max().unwrap_or(0);
    let low = regions
        .clone()
        .find(|r| r.base == 0)
        .map_or(0, |r| r.size.min(640 << 10));
    // Base memory from the region at 0; extended memory up to the top of RAM above 1 MiB.
    let size = if top > 1 << 20 { top } else { low };
    let floppies = spec
        .drives
        .iter()
        .take(2)
        .enumerate()
        .fold(0u8, |acc, (i, d)| {
            let floppy = d.value.kind != Some(vmm_bios::DriveKind::Hard);
            // 4: a 1.44 MB drive, in A:'s high nibble and B:'s low one.
            acc | if floppy { 4 << (4 * (1 - i)) } else { 0 }
        });
    // The equipment byte: a math coprocessor, 80-column colour, floppies present.
    let equipment = 0x02 | 0x20 | u8::from(floppies != 0);
    let timer = RtcTimer::new(Rtc::new(size, equipment, floppies), at.lines.line(rtc::IRQ));
    let dev = timer.device();
    at.vm.register_pio(rtc::INDEX_PORT, 1, dev.clone())?;
    at.vm.register_pio(rtc::DATA_PORT, 1, dev.clone())?;
    at.started.rtc = Some(timer);
    Ok(DeviceHandle::Rtc(dev))
}

pub(super) fn describe() -> String {
    " irq 8".to_owned()
}
