//! The PC's two 8259A programmable interrupt controllers: the master at 0x20/0x21 takes IRQ
//! 0-7, the slave at 0xA0/0xA1 takes IRQ 8-15 and drives the master's IRQ 2 (the cascade), and
//! the edge/level control registers (ELCR) at 0x4D0/0x4D1 choose each line's trigger mode.
//!
//! The model follows the datasheet and QEMU's `i8259.c`, which real PC software has been run
//! against for decades: ICW1-ICW4, OCW1 (mask), OCW2 (specific and non-specific EOI,
//! rotation), OCW3 (IRR/ISR read select, poll, special mask), auto-EOI and special fully
//! nested mode. It differs from QEMU in two places, both from the datasheet: ICW1's LTIM bit
//! makes every line of that chip level-triggered, and at power-on every line is masked until
//! the guest initialises the chip (ICW1 clears the mask, as on the real part), so a machine
//! whose guest never touches the PIC receives no interrupt.
//!
//! The CPU side is [`PicPair::intr`] (the INT pin) and [`PicPair::acknowledge`] (the INTA
//! cycle, which gives the vector). Devices raise lines through [`PicLine`].

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use vm_device::bus::{PioAddress, PioAddressOffset};
use vm_device::MutDevicePio;

use crate::irq::IrqLine;
use crate::state::{StateError, Stateful};

/// The master's command port (data at +1).
pub const MASTER_PORT: u16 = 0x20;
/// The slave's command port (data at +1).
pub const SLAVE_PORT: u16 = 0xA0;
/// The edge/level control registers: master at 0x4D0, slave at 0x4D1.
pub const ELCR_PORT: u16 = 0x4D0;
/// Ports each chip, and the ELCR pair, occupy.
pub const PORTS: u16 = 2;
/// The master input the slave is cascaded on.
pub const CASCADE_IRQ: u8 = 2;
/// Lines on the pair.
pub const LINES: u8 = 16;

/// ELCR bits that may be set: IRQ 0, 1, 2, 8 and 13 are always edge-triggered on a PC.
const ELCR_MASK: [u8; 2] = [0xF8, 0xDE];

/// One 8259A.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chip {
    /// Input levels as last driven (for edge detection).
    pub last_irr: u8,
    /// Interrupt request register.
    pub irr: u8,
    /// Interrupt mask register.
    pub imr: u8,
    /// In-service register.
    pub isr: u8,
    /// The lowest-priority line rotates: priority 0 is line `priority_add`.
    pub priority_add: u8,
    /// Vector of line 0 (ICW2, low 3 bits clear).
    pub irq_base: u8,
    /// OCW3: reading the command port gives ISR (`true`) or IRR.
    pub read_isr: bool,
    /// OCW3 poll command: the next read is a poll.
    pub poll: bool,
    /// OCW3 special mask mode.
    pub special_mask: bool,
    /// Which ICW the data port expects next: 0 none (normal operation), 2, 3 or 4.
    pub init_state: u8,
    /// ICW4's automatic EOI.
    pub auto_eoi: bool,
    /// OCW2 rotate in automatic EOI mode.
    pub rotate_on_auto_eoi: bool,
    /// ICW4's special fully nested mode.
    pub special_fully_nested: bool,
    /// ICW1 says an ICW4 follows.
    pub init4: bool,
    /// ICW1's single mode (no ICW3).
    pub single: bool,
    /// ICW1's LTIM: every line level-triggered.
    pub ltim: bool,
    /// Edge/level control register: a set bit makes the line level-triggered.
    pub elcr: u8,
}

impl Chip {
    /// The state at power-on: not initialised, every line masked.
    fn power_on() -> Self {
        Chip {
            imr: 0xFF,
            ..Default::default()
        }
    }

    fn level_mask(&self) -> u8 {
        if self.ltim {
            0xFF
        } else {
            self.elcr
        }
    }

    /// The priority of the highest-priority bit of `mask` (0 highest), 8 if none.
    fn priority(&self, mask: u8) -> u8 {
        (0..8)
            .find(|p| mask & (1 << ((p + self.priority_add) & 7)) != 0)
            .unwrap_or(8)
    }

    /// The line the chip asks the CPU (or the master) to serve, if any.
    fn requested(&self, is_master: bool) -> Option<u8> {
        let priority = self.priority(self.irr & !self.imr);
        if priority == 8 {
            return None;
        }
        let mut in_service = self.isr;
        if self.special_mask {
            in_service &= !self.imr;
        }
        if self.special_fully_nested && is_master {
            in_service &= !(1 << CASCADE_IRQ);
        }
        (priority < self.priority(in_service)).then_some((priority + self.priority_add) & 7)
    }

    fn set_irq(&mut self, irq: u8, high: bool) {
        let bit = 1 << irq;
        if self.level_mask() & bit != 0 {
            if high {
                self.irr |= bit;
                self.last_irr |= bit;
            } else {
                self.irr &= !bit;
                self.last_irr &= !bit;
            }
        } else if high {
            if self.last_irr & bit == 0 {
                self.irr |= bit;
            }
            self.last_irr |= bit;
        } else {
            self.last_irr &= !bit;
        }
    }

    /// The INTA cycle for `irq`: into service (unless auto-EOI), and an edge request is taken.
    fn intack(&mut self, irq: u8) {
        if self.auto_eoi {
            if self.rotate_on_auto_eoi {
                self.priority_add = (irq + 1) & 7;
            }
        } else {
            self.isr |= 1 << irq;
        }
        if self.level_mask() & (1 << irq) == 0 {
            self.irr &= !(1 << irq);
        }
    }

    /// ICW1: the chip starts over (the ELCR is not part of the chip and stays).
    fn init(&mut self, icw1: u8) {
        *self = Chip {
            irr: self.irr & self.level_mask(),
            elcr: self.elcr,
            init_state: 2,
            init4: icw1 & 0x01 != 0,
            single: icw1 & 0x02 != 0,
            ltim: icw1 & 0x08 != 0,
            ..Default::default()
        };
    }

    fn write_command(&mut self, value: u8) {
        if value & 0x10 != 0 {
            self.init(value);
        } else if value & 0x08 != 0 {
            // OCW3.
            if value & 0x04 != 0 {
                self.poll = true;
            }
            if value & 0x02 != 0 {
                self.read_isr = value & 0x01 != 0;
            }
            if value & 0x40 != 0 {
                self.special_mask = value & 0x20 != 0;
            }
        } else {
            // OCW2.
            match value >> 5 {
                0 => self.rotate_on_auto_eoi = false,
                4 => self.rotate_on_auto_eoi = true,
                cmd @ (1 | 5) => {
                    // Non-specific EOI (and rotate): the highest-priority line in service.
                    let priority = self.priority(self.isr);
                    if priority != 8 {
                        let irq = (priority + self.priority_add) & 7;
                        self.isr &= !(1 << irq);
                        if cmd == 5 {
                            self.priority_add = (irq + 1) & 7;
                        }
                    }
                }
                3 => self.isr &= !(1 << (value & 7)),
                6 => self.priority_add = (value + 1) & 7,
                7 => {
                    let irq = value & 7;
                    self.isr &= !(1 << irq);
                    self.priority_add = (irq + 1) & 7;
                }
                _ => {} // 2: no operation
            }
        }
    }

    fn write_data(&mut self, value: u8) {
        self.init_state = match self.init_state {
            2 => {
                self.irq_base = value & 0xF8;
                match (self.single, self.init4) {
                    (false, _) => 3,
                    (true, true) => 4,
                    (true, false) => 0,
                }
            }
            3 => {
                if self.init4 {
                    4
                } else {
                    0
                }
            }
            4 => {
                self.special_fully_nested = value & 0x10 != 0;
                self.auto_eoi = value & 0x02 != 0;
                0
            }
            _ => {
                self.imr = value;
                0
            }
        };
    }

    fn read(&mut self, command_port: bool, is_master: bool) -> u8 {
        if self.poll {
            self.poll = false;
            return match self.requested(is_master) {
                Some(irq) => {
                    self.intack(irq);
                    0x80 | irq
                }
                None => 0,
            };
        }
        match (command_port, self.read_isr) {
            (true, true) => self.isr,
            (true, false) => self.irr,
            (false, _) => self.imr,
        }
    }
}

/// The master and slave 8259As of a PC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicPair {
    /// IRQ 0-7, and the CPU's INT pin.
    pub master: Chip,
    /// IRQ 8-15, on the master's IRQ 2.
    pub slave: Chip,
}

impl Default for PicPair {
    fn default() -> Self {
        Self::new()
    }
}

impl PicPair {
    /// The pair at power-on: not initialised, every line masked.
    pub fn new() -> Self {
        PicPair {
            master: Chip::power_on(),
            slave: Chip::power_on(),
        }
    }

    /// Drives line `irq` (0-15); other numbers are ignored.
    pub fn set_irq(&mut self, irq: u8, high: bool) {
        match irq {
            0..8 => self.master.set_irq(irq, high),
            8..16 => self.slave.set_irq(irq - 8, high),
            _ => return,
        }
        self.update_cascade();
    }

    /// The slave's INT output is the master's IRQ 2.
    fn update_cascade(&mut self) {
        let slave_int = self.slave.requested(false).is_some();
        self.master.set_irq(CASCADE_IRQ, slave_int);
    }

    /// Whether the INT pin to the CPU is asserted.
    pub fn intr(&self) -> bool {
        self.master.requested(true).is_some()
    }

    /// Whether an interrupt can still reach the CPU, when the lines in `connected` (bit n for
    /// IRQ n) are the ones a device drives: INT is asserted, or a connected line is unmasked
    /// all the way to the CPU (a slave line also through the master's IRQ 2). `false` means a
    /// CPU halted with interrupts enabled would never wake.
    pub fn can_interrupt(&self, connected: u16) -> bool {
        let [master_lines, slave_lines] = connected.to_le_bytes();
        let master_open = master_lines & !(1 << CASCADE_IRQ) & !self.master.imr != 0;
        let slave_open =
            slave_lines & !self.slave.imr != 0 && self.master.imr & (1 << CASCADE_IRQ) == 0;
        self.intr() || master_open || slave_open
    }

    /// The INTA cycle: the vector the CPU takes. With nothing requested (the request went away),
    /// the spurious vector of line 7, as the hardware gives.
    pub fn acknowledge(&mut self) -> u8 {
        self.acknowledge_line().0
    }

    /// The INTA cycle: the vector, and the line (0-15) it serves, `None` when spurious.
    pub fn acknowledge_line(&mut self) -> (u8, Option<u8>) {
        let taken = match self.master.requested(true) {
            Some(CASCADE_IRQ) => {
                let line = match self.slave.requested(false) {
                    Some(irq) => {
                        self.slave.intack(irq);
                        Some(irq)
                    }
                    None => None,
                };
                self.master.intack(CASCADE_IRQ);
                (
                    self.slave.irq_base.wrapping_add(line.unwrap_or(7)),
                    line.map(|l| l + 8),
                )
            }
            Some(irq) => {
                self.master.intack(irq);
                (self.master.irq_base.wrapping_add(irq), Some(irq))
            }
            None => (self.master.irq_base.wrapping_add(7), None),
        };
        self.update_cascade();
        taken
    }

    /// Puts both chips where a PC BIOS leaves them: vectors 0x08 and 0x70, edge-triggered,
    /// cascaded on IRQ 2, every line masked but the cascade (SeaBIOS's `pic_setup`).
    pub fn bios_setup(&mut self) {
        for (chip, base, icw3, mask) in [
            (&mut self.master, 0x08, 0x04, !(1u8 << CASCADE_IRQ)),
            (&mut self.slave, 0x70, 0x02, 0xFF),
        ] {
            chip.write_command(0x11);
            chip.write_data(base);
            chip.write_data(icw3);
            chip.write_data(0x01);
            chip.write_data(mask);
        }
        self.update_cascade();
    }

    /// A guest write to one of the pair's ports: `base` is the range's first port.
    pub fn write(&mut self, base: u16, offset: u16, value: u8) {
        match (base, offset) {
            (MASTER_PORT, 0) => self.master.write_command(value),
            (MASTER_PORT, 1) => self.master.write_data(value),
            (SLAVE_PORT, 0) => self.slave.write_command(value),
            (SLAVE_PORT, 1) => self.slave.write_data(value),
            (ELCR_PORT, 0) => self.master.elcr = value & ELCR_MASK[0],
            (ELCR_PORT, 1) => self.slave.elcr = value & ELCR_MASK[1],
            _ => return,
        }
        self.update_cascade();
    }

    /// A guest read of one of the pair's ports.
    pub fn read(&mut self, base: u16, offset: u16) -> u8 {
        let value = match (base, offset) {
            (MASTER_PORT, o) => self.master.read(o == 0, true),
            (SLAVE_PORT, o) => self.slave.read(o == 0, false),
            (ELCR_PORT, 0) => self.master.elcr,
            (ELCR_PORT, 1) => self.slave.elcr,
            _ => 0xFF,
        };
        self.update_cascade();
        value
    }
}

impl MutDevicePio for PicPair {
    fn pio_read(&mut self, base: PioAddress, offset: PioAddressOffset, data: &mut [u8]) {
        data.fill(0xFF);
        if let Some(first) = data.first_mut() {
            *first = self.read(base.0, offset);
        }
    }

    fn pio_write(&mut self, base: PioAddress, offset: PioAddressOffset, data: &[u8]) {
        // A 16-bit write to a chip (out 0x20, ax) writes both of its ports, low byte first.
        for (i, &value) in data.iter().enumerate() {
            if let Some(o) = u16::try_from(i).ok().and_then(|i| offset.checked_add(i)) {
                self.write(base.0, o, value);
            }
        }
    }
}

impl Stateful for PicPair {
    type State = PicPair;

    fn save(&self) -> PicPair {
        self.clone()
    }

    fn restore(&mut self, state: PicPair) -> Result<(), StateError> {
        if [&state.master, &state.slave]
            .iter()
            .any(|c| !matches!(c.init_state, 0 | 2 | 3 | 4) || c.priority_add > 7)
        {
            return Err(StateError::Invalid("an 8259A state out of range"));
        }
        *self = state;
        Ok(())
    }
}

/// A line into the pair. Raising it may assert INT; `wake` is then called so the CPU notices
/// (the board makes it a kick of the vCPU).
#[derive(Clone)]
pub struct PicLine {
    pic: Arc<Mutex<PicPair>>,
    irq: u8,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl PicLine {
    /// Line `irq` (0-15) of `pic`.
    pub fn new(pic: Arc<Mutex<PicPair>>, irq: u8, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        PicLine { pic, irq, wake }
    }
}

impl IrqLine for PicLine {
    fn set_level(&self, high: bool) {
        let intr = {
            // A poisoned lock means a panic mid-update elsewhere; the registers are plain bytes.
            let mut pic = self.pic.lock().unwrap_or_else(|p| p.into_inner());
            pic.set_irq(self.irq, high);
            pic.intr()
        };
        // Lowering a line never asserts INT.
        if high && intr {
            (self.wake)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pair initialised as a PC BIOS does, with every line unmasked.
    fn pc() -> PicPair {
        let mut pic = PicPair::new();
        pic.bios_setup();
        pic.write(MASTER_PORT, 1, 0);
        pic.write(SLAVE_PORT, 1, 0);
        pic
    }

    fn eoi(pic: &mut PicPair, base: u16) {
        pic.write(base, 0, 0x20);
    }

    #[test]
    fn test_power_on_masks_everything() {
        let mut pic = PicPair::new();
        pic.set_irq(0, true);
        assert!(!pic.intr());
        assert!(!pic.can_interrupt(0xFFFF));
    }

    #[test]
    fn test_can_interrupt_only_through_a_connected_unmasked_line() {
        let mut pic = PicPair::new();
        pic.bios_setup(); // all masked but the cascade
        assert!(
            !pic.can_interrupt(0x0013),
            "the cascade alone wakes nothing"
        );
        pic.write(MASTER_PORT, 1, 0xDB); // IRQ 5 unmasked, but nothing drives it
        assert!(!pic.can_interrupt(0x0013));
        pic.write(MASTER_PORT, 1, 0xFA); // IRQ 0 unmasked: the timer is connected
        assert!(pic.can_interrupt(0x0013));
        pic.write(MASTER_PORT, 1, 0xFB);
        pic.write(SLAVE_PORT, 1, 0xEF); // IRQ 12 unmasked through the cascade
        assert!(pic.can_interrupt(0x1000));
        pic.write(MASTER_PORT, 1, 0xFF); // the cascade masked
        assert!(!pic.can_interrupt(0x1000));
    }

    #[test]
    fn test_icw_sequence_sets_vector_base() {
        let mut pic = PicPair::new();
        for (port, v) in [(0, 0x11), (1, 0x20), (1, 0x04), (1, 0x01), (1, 0x00)] {
            pic.write(MASTER_PORT, port, v);
        }
        pic.set_irq(3, true);
        assert!(pic.intr());
        assert_eq!(pic.acknowledge(), 0x23);
    }

    #[test]
    fn test_icw1_clears_the_mask_and_icw4_is_skipped_without_ic4() {
        let mut pic = PicPair::new();
        pic.write(MASTER_PORT, 0, 0x10); // ICW1 without IC4, cascade mode
        pic.write(MASTER_PORT, 1, 0x40); // ICW2
        pic.write(MASTER_PORT, 1, 0x04); // ICW3
        pic.write(MASTER_PORT, 1, 0xFE); // OCW1: already the mask
        assert_eq!(pic.read(MASTER_PORT, 1), 0xFE);
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x40);
    }

    #[test]
    fn test_bios_vectors_and_cascade() {
        let mut pic = pc();
        pic.set_irq(12, true);
        assert!(pic.intr());
        assert_eq!(pic.acknowledge(), 0x74);
        assert_eq!((pic.master.isr, pic.slave.isr), (0x04, 0x10));
    }

    #[test]
    fn test_mask_and_unmask() {
        let mut pic = pc();
        pic.write(MASTER_PORT, 1, 0x01);
        pic.set_irq(0, true);
        assert!(!pic.intr());
        assert_eq!(
            pic.read(MASTER_PORT, 0) & 1,
            1,
            "IRR holds the masked request"
        );
        pic.write(MASTER_PORT, 1, 0x00);
        assert!(pic.intr());
        assert_eq!(pic.acknowledge(), 0x08);
    }

    #[test]
    fn test_edge_needs_a_new_rising_edge() {
        let mut pic = pc();
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09);
        eoi(&mut pic, MASTER_PORT);
        assert!(!pic.intr(), "line still high: no new edge");
        pic.set_irq(1, false);
        pic.set_irq(1, true);
        assert!(pic.intr());
    }

    #[test]
    fn test_level_trigger_through_elcr_follows_the_line() {
        let mut pic = pc();
        pic.write(ELCR_PORT, 1, 0x08); // IRQ 11 level
        pic.set_irq(11, true);
        assert_eq!(pic.acknowledge(), 0x73);
        eoi(&mut pic, SLAVE_PORT);
        eoi(&mut pic, MASTER_PORT);
        assert!(pic.intr(), "still high: requested again");
        pic.set_irq(11, false);
        // The cascade input is edge-triggered on the master: a request that goes away before
        // the INTA cycle is a spurious IRQ 7 of the slave, as on the part.
        assert_eq!(pic.acknowledge(), 0x77);
        assert!(!pic.intr());
    }

    #[test]
    fn test_elcr_cannot_make_the_timer_level_triggered() {
        let mut pic = pc();
        pic.write(ELCR_PORT, 0, 0xFF);
        assert_eq!(pic.read(ELCR_PORT, 0), 0xF8);
    }

    #[test]
    fn test_ltim_makes_lines_level_triggered() {
        let mut pic = PicPair::new();
        for (port, v) in [(0, 0x19), (1, 0x08), (1, 0x04), (1, 0x01), (1, 0x00)] {
            pic.write(MASTER_PORT, port, v);
        }
        pic.set_irq(4, true);
        pic.set_irq(4, false);
        assert!(!pic.intr(), "a level request goes away with the level");
    }

    #[test]
    fn test_priority_and_nesting() {
        let mut pic = pc();
        pic.set_irq(4, true);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09, "IRQ 1 before IRQ 4");
        assert!(!pic.intr(), "IRQ 4 waits while IRQ 1 is in service");
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x08, "IRQ 0 nests over IRQ 1");
        eoi(&mut pic, MASTER_PORT); // ends IRQ 0
        eoi(&mut pic, MASTER_PORT); // ends IRQ 1
        assert_eq!(pic.acknowledge(), 0x0C);
    }

    #[test]
    fn test_specific_eoi() {
        let mut pic = pc();
        pic.set_irq(3, true);
        pic.acknowledge();
        pic.write(MASTER_PORT, 0, 0x62); // specific EOI for IRQ 2: IRQ 3 stays in service
        assert_eq!(pic.master.isr, 0x08);
        pic.write(MASTER_PORT, 0, 0x63);
        assert_eq!(pic.master.isr, 0);
    }

    #[test]
    fn test_ocw3_selects_isr_or_irr() {
        let mut pic = pc();
        pic.set_irq(5, true);
        pic.acknowledge();
        pic.set_irq(6, true);
        pic.write(MASTER_PORT, 0, 0x0B);
        assert_eq!(pic.read(MASTER_PORT, 0), 0x20);
        pic.write(MASTER_PORT, 0, 0x0A);
        assert_eq!(pic.read(MASTER_PORT, 0), 0x40);
    }

    #[test]
    fn test_poll_acknowledges() {
        let mut pic = pc();
        pic.set_irq(6, true);
        pic.write(MASTER_PORT, 0, 0x0C);
        assert_eq!(pic.read(MASTER_PORT, 0), 0x86);
        assert_eq!(pic.master.isr, 0x40);
    }

    #[test]
    fn test_auto_eoi_leaves_nothing_in_service() {
        let mut pic = PicPair::new();
        for (port, v) in [(0, 0x11), (1, 0x08), (1, 0x04), (1, 0x03), (1, 0x00)] {
            pic.write(MASTER_PORT, port, v);
        }
        pic.set_irq(0, true);
        assert_eq!(pic.acknowledge(), 0x08);
        assert_eq!(pic.master.isr, 0);
    }

    #[test]
    fn test_rotation_on_non_specific_eoi() {
        let mut pic = pc();
        pic.set_irq(0, true);
        pic.acknowledge();
        pic.write(MASTER_PORT, 0, 0xA0); // rotate on non-specific EOI: IRQ 0 lowest now
        pic.set_irq(0, false);
        pic.set_irq(0, true);
        pic.set_irq(1, true);
        assert_eq!(pic.acknowledge(), 0x09);
    }

    #[test]
    fn test_spurious_when_request_vanished() {
        let mut pic = pc();
        assert_eq!(pic.acknowledge(), 0x0F);
    }

    #[test]
    fn test_nonsense_never_panics() {
        let mut pic = PicPair::new();
        for v in 0..=255u8 {
            for base in [MASTER_PORT, SLAVE_PORT, ELCR_PORT] {
                pic.write(base, u16::from(v & 1), v);
                pic.read(base, u16::from(v & 1));
            }
            pic.set_irq(v, v & 2 != 0);
            pic.acknowledge();
        }
    }

    #[test]
    fn test_eoi_storm_is_harmless() {
        let mut pic = pc();
        for _ in 0..1000 {
            eoi(&mut pic, MASTER_PORT);
        }
        assert_eq!(pic.master.isr, 0);
    }

    #[test]
    fn test_line_wakes_only_when_int_is_asserted() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pic = Arc::new(Mutex::new(pc()));
        pic.lock().unwrap().write(MASTER_PORT, 1, 0xFE);
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let wake = Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        PicLine::new(pic.clone(), 1, wake.clone()).pulse();
        PicLine::new(pic, 0, wake).pulse();
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "IRQ 1 wakes, masked IRQ 0 does not"
        );
    }

    #[test]
    fn test_state_round_trip() {
        let mut pic = pc();
        pic.set_irq(9, true);
        let saved = pic.save();
        let mut other = PicPair::new();
        other.restore(saved.clone()).unwrap();
        assert_eq!(other, pic);
        let mut bad = saved;
        bad.master.init_state = 9;
        assert!(other.restore(bad).is_err());
    }
}
