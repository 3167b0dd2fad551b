//! The pointing device services (int 15h AH=C2h) over the PS/2 mouse on the i8042's auxiliary
//! port, and the IRQ 12 handler that gathers its three-byte packets and calls the guest's
//! handler with them (status, X, Y and 0 pushed as words, as an AT BIOS does: CuteMouse and
//! Windows' PS/2 driver use it). Without a mouse the services answer "not supported" (86h).

use crate::cpu::Cpu;
use crate::machine::Machine;

/// Where the guest's handler is kept (far pointer), in the BDA's reserved bytes.
pub const HANDLER: u32 = 0x4B4;
/// Flags: bit 0 enabled, bit 1 a handler installed.
const FLAGS: u32 = 0x4B8;
/// How many bytes of the packet in progress have come.
const INDEX: u32 = 0x4B9;
/// The packet in progress.
const PACKET: u32 = 0x4BA;

const ENABLED: u8 = 1;
const HANDLER_SET: u8 = 2;

/// int 15h AH=C2h status codes.
const INVALID_FUNCTION: u8 = 0x01;
const INVALID_INPUT: u8 = 0x02;
const INTERFACE_ERROR: u8 = 0x03;
const NO_HANDLER: u8 = 0x05;
const NOT_SUPPORTED: u8 = 0x86;

/// i8042 ports and bits.
const DATA: u16 = 0x60;
const STATUS: u16 = 0x64;
const OBF: u8 = 0x01;
const AUX_OBF: u8 = 0x20;
const ACK: u8 = 0xFA;

/// Sample rates by int 15h code.
const RATES: [u8; 7] = [10, 20, 40, 60, 80, 100, 200];

/// The next byte the mouse sends, if one comes.
fn receive(m: &mut dyn Machine) -> Option<u8> {
    for _ in 0..64 {
        if m.inb(STATUS) & (OBF | AUX_OBF) == OBF | AUX_OBF {
            return Some(m.inb(DATA));
        }
    }
    None
}

/// Sends `bytes` to the mouse; each must be acknowledged.
fn send(m: &mut dyn Machine, bytes: &[u8]) -> Result<(), u8> {
    for &b in bytes {
        m.outb(STATUS, 0xD4);
        m.outb(DATA, b);
        if receive(m) != Some(ACK) {
            return Err(INTERFACE_ERROR);
        }
    }
    Ok(())
}

/// The controller's interrupt for the mouse, and the PICs' IRQ 12 and cascade, on or off.
fn interrupts(m: &mut dyn Machine, on: bool) {
    m.outb(STATUS, 0x20);
    let command = receive_controller(m).unwrap_or(0x45);
    let command = if on {
        (command | 0x02) & !0x20
    } else {
        command & !0x02
    };
    m.outb(STATUS, 0x60);
    m.outb(DATA, command);
    let slave = m.inb(0xA1);
    m.outb(0xA1, if on { slave & !0x10 } else { slave | 0x10 });
    if on {
        let master = m.inb(0x21);
        m.outb(0x21, master & !0x04);
    }
}

fn receive_controller(m: &mut dyn Machine) -> Option<u8> {
    (0..64)
        .find(|_| m.inb(STATUS) & OBF != 0)
        .map(|_| m.inb(DATA))
}

/// Serves int 15h AH=C2h; `present` says whether the machine has a mouse.
pub fn int15_c2(cpu: &mut Cpu, m: &mut dyn Machine, present: bool) {
    let result = if present {
        service(cpu, m)
    } else {
        Err(NOT_SUPPORTED)
    };
    match result {
        Ok(()) => {
            cpu.set_ah(0);
            cpu.set_carry(m, false);
        }
        Err(status) => {
            cpu.set_ah(status);
            cpu.set_carry(m, true);
        }
    }
}

fn service(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), u8> {
    let flags = m.read_u8(FLAGS);
    match cpu.al() {
        0x00 => match cpu.bh() {
            0 => {
                send(m, &[0xF5])?;
                m.write_u8(FLAGS, flags & !ENABLED);
                interrupts(m, false);
                Ok(())
            }
            1 if flags & HANDLER_SET == 0 => Err(NO_HANDLER),
            1 => {
                m.write_u8(INDEX, 0);
                send(m, &[0xF4])?;
                m.write_u8(FLAGS, flags | ENABLED);
                interrupts(m, true);
                Ok(())
            }
            _ => Err(INVALID_INPUT),
        },
        0x01 => {
            send(m, &[0xFF])?;
            let (test, id) = (receive(m), receive(m));
            m.write_u8(FLAGS, flags & !ENABLED);
            cpu.set_bl(test.ok_or(INTERFACE_ERROR)?);
            cpu.set_bh(id.ok_or(INTERFACE_ERROR)?);
            Ok(())
        }
        0x02 => {
            let rate = *RATES.get(usize::from(cpu.bh())).ok_or(INVALID_INPUT)?;
            send(m, &[0xF3, rate])
        }
        0x03 if cpu.bh() <= 3 => send(m, &[0xE8, cpu.bh()]),
        0x03 => Err(INVALID_INPUT),
        0x04 => {
            send(m, &[0xF2])?;
            cpu.set_bh(receive(m).ok_or(INTERFACE_ERROR)?);
            Ok(())
        }
        0x05 if (1..=8).contains(&cpu.bh()) => {
            m.write_u8(INDEX, 0);
            m.write_u8(FLAGS, flags & !ENABLED);
            send(m, &[0xF5, 0xF6])
        }
        0x05 => Err(INVALID_INPUT),
        0x06 => extended(cpu, m),
        0x07 => {
            let far = (u32::from(cpu.es) << 16) | u32::from(cpu.bx());
            m.write_u32(HANDLER, far);
            let set = if far == 0 {
                flags & !HANDLER_SET
            } else {
                flags | HANDLER_SET
            };
            m.write_u8(FLAGS, set);
            Ok(())
        }
        _ => Err(INVALID_FUNCTION),
    }
}

/// AL=06h: BH=0 status (BL, CL, DL), 1 scaling 1:1, 2 scaling 2:1.
fn extended(cpu: &mut Cpu, m: &mut dyn Machine) -> Result<(), u8> {
    match cpu.bh() {
        0 => {
            send(m, &[0xE9])?;
            let mut status = [0u8; 3];
            for b in &mut status {
                *b = receive(m).ok_or(INTERFACE_ERROR)?;
            }
            cpu.set_bl(status[0]);
            cpu.set_cl(status[1]);
            cpu.set_dl(status[2]);
            Ok(())
        }
        1 => send(m, &[0xE6]),
        2 => send(m, &[0xE7]),
        _ => Err(INVALID_INPUT),
    }
}

/// IRQ 12: takes the mouse's byte; when a packet is whole and the guest enabled the device
/// with a handler, tells the ROM's code to call it (AX=1, BX status, CX X, DX Y); else AX=0.
pub fn irq12(cpu: &mut Cpu, m: &mut dyn Machine) {
    cpu.set_ax(0);
    if m.inb(STATUS) & (OBF | AUX_OBF) != OBF | AUX_OBF {
        return;
    }
    let byte = m.inb(DATA);
    let index = m.read_u8(INDEX);
    // A first byte always has bit 3 set: anything else is out of step, and dropped.
    if index == 0 && byte & 0x08 == 0 {
        return;
    }
    m.write_u8(PACKET + u32::from(index), byte);
    if index < 2 {
        m.write_u8(INDEX, index + 1);
        return;
    }
    m.write_u8(INDEX, 0);
    if m.read_u8(FLAGS) & (ENABLED | HANDLER_SET) == ENABLED | HANDLER_SET {
        cpu.set_ax(1);
        cpu.set_bx(u16::from(m.read_u8(PACKET)));
        cpu.set_cx(u16::from(m.read_u8(PACKET + 1)));
        cpu.set_dx(u16::from(byte));
    }
}
