//! `--serial` and `--debugcon` in the machine description: the Nth `--serial` is COM(N), added
//! at its standard port and line when the machine lacks it, removed for `none`; `--debugcon
//! none` removes the debug console. Where their bytes go is the chardev module's business.

use vmm_machine::spec::{DeviceKind, Located, MachineSpec};

use crate::chardev::{Backend, COM_PORTS};
use crate::cli::RunArgs;
use crate::error::CliError;

/// Applies the routing flags to `spec`.
pub(super) fn apply(spec: &mut MachineSpec, args: &RunArgs) -> Result<(), CliError> {
    let serials = &args.output.serials;
    if serials.len() > COM_PORTS.len() {
        return Err(CliError::Usage(format!(
            "--serial given {} times: a PC has {} serial ports (COM1 to COM4)",
            serials.len(),
            COM_PORTS.len()
        )));
    }
    for (backend, &(port, irq)) in serials.iter().zip(COM_PORTS.iter()) {
        let at = |d: &Located<DeviceKind>| matches!(d.value, DeviceKind::Serial { port: p, .. } if p == port);
        if *backend == Backend::None {
            spec.devices.retain(|d| !at(d));
            continue;
        }
        match spec.devices.iter_mut().find(|d| at(d)) {
            // The flag says where its bytes go: the machine file's `output` gives way.
            Some(device) => {
                if let DeviceKind::Serial { output, .. } = &mut device.value {
                    *output = None;
                }
            }
            None => spec.devices.push(Located::flag(
                DeviceKind::Serial {
                    port,
                    irq,
                    output: None,
                },
                "--serial",
            )),
        }
    }
    match &args.output.debugcon {
        Some(Backend::None) => spec
            .devices
            .retain(|d| !matches!(d.value, DeviceKind::Debugcon { .. })),
        Some(_)
            if !spec
                .devices
                .iter()
                .any(|d| matches!(d.value, DeviceKind::Debugcon { .. })) =>
        {
            spec.devices.push(Located::flag(
                DeviceKind::Debugcon {
                    port: vmm_devices::debugcon::DEFAULT_PORT,
                },
                "--debugcon",
            ))
        }
        _ => {}
    }
    Ok(())
}

/// The serial port that reads stdin: the first one on `stdio` (COM1 unless `--serial` says
/// otherwise); `None` when none is.
pub(super) fn stdin_port(args: &RunArgs) -> Option<u16> {
    if args.output.serials.is_empty() {
        return Some(COM_PORTS[0].0);
    }
    args.output
        .serials
        .iter()
        .zip(COM_PORTS.iter())
        .find(|(b, _)| **b == Backend::Stdio)
        .map(|(_, (port, _))| *port)
}
