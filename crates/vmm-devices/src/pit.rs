//! The PC's 8254 programmable interval timer at 0x40-0x43, with the speaker gate and output
//! bits of port 0x61 (system control port B).
//!
//! Channel 0 drives IRQ 0; channel 2 is gated by port 0x61 bit 0 and its output reads back in
//! bit 5 (software times delays with it); channel 1 (DRAM refresh on old PCs) counts but is
//! wired to nothing. The counters are not stepped: each count is computed from the time since
//! it was loaded, at the 8254's 1.193182 MHz, as QEMU's `i8254.c` does. Every call takes the
//! time (`now`, in nanoseconds on the caller's clock), so the model is a pure state machine and
//! the tests choose the time.
//!
//! Modes 0-5 follow the datasheet for OUT; a count of 0 means 65,536. As in QEMU, the gate of
//! channel 0 is always high and modes 1 and 5 start counting when the count is loaded, a low
//! gate does not stop a counter, and BCD counting is accepted but counts in binary.
//!
//! IRQ 0 is raised on each rising edge of channel 0's OUT; [`Pit::next_irq`] says when the
//! next one is due, and the board's timer raises it then. As KVM's in-kernel PIT does, edges
//! come at most every [`MIN_IRQ_PERIOD_NS`] (5 kHz), so a guest that programs a count of 1
//! gets a fast timer, not an interrupt storm.

use serde::{Deserialize, Serialize};

use crate::state::{StateError, Stateful};

/// Channel 0's port; channels 1 and 2 follow, the mode/command register is at +3.
pub const PIT_PORT: u16 = 0x40;
/// Ports the PIT occupies.
pub const PORTS: u16 = 4;
/// System control port B: speaker gate and data, refresh toggle, channel 2's output.
pub const SPEAKER_PORT: u16 = 0x61;
/// The 8254's input clock, in Hz.
pub const PIT_FREQ: u64 = 1_193_182;
/// The shortest time between two timer interrupts (KVM's `min_timer_period_us`, 200 us).
pub const MIN_IRQ_PERIOD_NS: u64 = 200_000;

const NS_PER_S: u128 = 1_000_000_000;

/// Read/write states: which byte of a 16-bit count the next access is (1 is the LSB only, the
/// default arm of each match).
const RW_MSB: u8 = 2;
const RW_WORD0: u8 = 3;
const RW_WORD1: u8 = 4;

/// One 8254 counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// The count loaded (1-65,536); 0 while none has been.
    pub count: u32,
    /// When the count was loaded, on the caller's clock.
    pub load_time: u64,
    /// Counting mode, 0-5.
    pub mode: u8,
    /// Access mode from the control word: 1 LSB, 2 MSB, 3 LSB then MSB.
    pub rw_mode: u8,
    /// Which byte the next count read gives.
    pub read_state: u8,
    /// Which byte the next count write is.
    pub write_state: u8,
    /// The LSB of a count being written in two parts.
    pub write_latch: u8,
    /// A latched count, if `count_latched` is not 0.
    pub latched_count: u16,
    /// Which bytes of `latched_count` are still to be read (a read state), 0 for none.
    pub count_latched: u8,
    /// A latched status byte waits to be read.
    pub status_latched: bool,
    /// The latched status byte.
    pub status: u8,
    /// BCD counting asked for.
    pub bcd: bool,
    /// The GATE input.
    pub gate: bool,
}

impl Channel {
    fn ticks(&self, now: u64) -> u64 {
        let elapsed = u128::from(now.saturating_sub(self.load_time));
        (elapsed * u128::from(PIT_FREQ) / NS_PER_S) as u64
    }

    /// The time `ticks` input clocks after the count was loaded (rounded up).
    fn time_of(&self, ticks: u64) -> u64 {
        let ns = (u128::from(ticks) * NS_PER_S).div_ceil(u128::from(PIT_FREQ));
        self.load_time
            .saturating_add(ns.min(u128::from(u64::MAX)) as u64)
    }

    /// The counting element now.
    fn current(&self, now: u64) -> u16 {
        if self.count == 0 {
            return 0;
        }
        let n = u64::from(self.count);
        let d = self.ticks(now);
        let value = match self.mode {
            0 | 1 | 4 | 5 => n.wrapping_sub(d) & 0xFFFF,
            3 => n - (2 * d) % n,
            _ => n - d % n,
        };
        value as u16 // 65,536 reads as 0, as on the part
    }

    /// The OUT pin now.
    fn out(&self, now: u64) -> bool {
        if self.count == 0 {
            return false;
        }
        let n = u64::from(self.count);
        let d = self.ticks(now);
        match self.mode {
            0 => d >= n,
            1 => d >= n,
            2 => n == 1 || d % n != n - 1,
            3 => d % n < n.div_ceil(2),
            _ => d != n, // 4, 5: low for one clock at terminal count
        }
    }

    /// The tick count of the first rising edge of OUT after tick `d`, if any.
    fn next_rise(&self, d: u64) -> Option<u64> {
        let n = u64::from(self.count);
        match self.mode {
            _ if self.count == 0 => None,
            0 | 1 => (d < n).then_some(n),
            2 | 3 => Some((d / n + 1) * n),
            _ => (d < n + 1).then_some(n + 1),
        }
    }

    fn load(&mut self, value: u32, now: u64) {
        self.count = if value == 0 { 0x1_0000 } else { value };
        self.load_time = now;
    }

    fn latch_count(&mut self, now: u64) {
        if self.count_latched == 0 {
            self.latched_count = self.current(now);
            self.count_latched = self.rw_mode;
        }
    }

    fn latch_status(&mut self, now: u64) {
        if !self.status_latched {
            self.status = (u8::from(self.out(now)) << 7)
                | (self.rw_mode << 4)
                | (self.mode << 1)
                | u8::from(self.bcd);
            self.status_latched = true;
        }
    }

    fn write(&mut self, value: u8, now: u64) {
        match self.write_state {
            RW_MSB => self.load(u32::from(value) << 8, now),
            RW_WORD0 => {
                self.write_latch = value;
                self.write_state = RW_WORD1;
            }
            RW_WORD1 => {
                self.load(u32::from(self.write_latch) | u32::from(value) << 8, now);
                self.write_state = RW_WORD0;
            }
            _ => self.load(u32::from(value), now),
        }
    }

    fn read(&mut self, now: u64) -> u8 {
        if self.status_latched {
            self.status_latched = false;
            return self.status;
        }
        let [lsb, msb] = self.latched_count.to_le_bytes();
        match self.count_latched {
            0 => {}
            RW_MSB => {
                self.count_latched = 0;
                return msb;
            }
            RW_WORD0 => {
                self.count_latched = RW_MSB;
                return lsb;
            }
            _ => {
                self.count_latched = 0;
                return lsb;
            }
        }
        let [lsb, msb] = self.current(now).to_le_bytes();
        match self.read_state {
            RW_MSB => msb,
            RW_WORD0 => {
                self.read_state = RW_WORD1;
                lsb
            }
            RW_WORD1 => {
                self.read_state = RW_WORD0;
                msb
            }
            _ => lsb,
        }
    }

    fn set_gate(&mut self, gate: bool, now: u64) {
        // Modes 1, 2, 3 and 5 restart counting on a rising edge of GATE.
        if gate && !self.gate && matches!(self.mode, 1 | 2 | 3 | 5) {
            self.load_time = now;
        }
        self.gate = gate;
    }
}

/// The 8254 and port 0x61's bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pit {
    /// Channels 0, 1 and 2.
    pub channels: [Channel; 3],
    /// Port 0x61 bit 1: speaker data enable.
    pub speaker_data: bool,
    /// Port 0x61 bit 4: toggles on every read (the refresh-request bit software counts).
    pub refresh: bool,
}

impl Default for Pit {
    fn default() -> Self {
        Self::new()
    }
}

impl Pit {
    /// The PIT at power-on: no counter loaded (no timer interrupt until the guest programs
    /// channel 0), channel 0's and 1's gates high, channel 2's low.
    pub fn new() -> Self {
        let mut channels: [Channel; 3] = Default::default();
        channels[0].gate = true;
        channels[1].gate = true;
        Pit {
            channels,
            speaker_data: false,
            refresh: false,
        }
    }

    /// Programs channel 0 as a PC BIOS leaves it: mode 3, count 65,536 (18.2 Hz).
    pub fn bios_setup(&mut self, now: u64) {
        self.write(3, 0x36, now);
        self.write(0, 0, now);
        self.write(0, 0, now);
    }

    /// A write to port 0x40 + `offset` (0-3).
    pub fn write(&mut self, offset: u16, value: u8, now: u64) {
        match offset {
            0..=2 => self.channels[usize::from(offset)].write(value, now),
            3 => self.control(value, now),
            _ => {}
        }
    }

    fn control(&mut self, value: u8, now: u64) {
        let select = value >> 6;
        if select == 3 {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches statuses.
            for (i, channel) in self.channels.iter_mut().enumerate() {
                if value & (2 << i) != 0 {
                    if value & 0x20 == 0 {
                        channel.latch_count(now);
                    }
                    if value & 0x10 == 0 {
                        channel.latch_status(now);
                    }
                }
            }
            return;
        }
        let channel = &mut self.channels[usize::from(select)];
        let access = (value >> 4) & 3;
        if access == 0 {
            channel.latch_count(now);
            return;
        }
        channel.rw_mode = access;
        channel.read_state = access;
        channel.write_state = access;
        // Modes 6 and 7 are 2 and 3 on the part.
        channel.mode = match (value >> 1) & 7 {
            m @ 6..=7 => m - 4,
            m => m,
        };
        channel.bcd = value & 1 != 0;
    }

    /// A read of port 0x40 + `offset`; the control port reads as open bus.
    pub fn read(&mut self, offset: u16, now: u64) -> u8 {
        match offset {
            0..=2 => self.channels[usize::from(offset)].read(now),
            _ => 0xFF,
        }
    }

    /// A read of port 0x61.
    pub fn speaker_read(&mut self, now: u64) -> u8 {
        self.refresh = !self.refresh;
        let ch2 = &self.channels[2];
        u8::from(ch2.gate)
            | u8::from(self.speaker_data) << 1
            | u8::from(self.refresh) << 4
            | u8::from(ch2.out(now)) << 5
    }

    /// A write of port 0x61: bit 0 is channel 2's gate, bit 1 the speaker data enable.
    pub fn speaker_write(&mut self, value: u8, now: u64) {
        self.speaker_data = value & 2 != 0;
        self.channels[2].set_gate(value & 1 != 0, now);
    }

    /// Channel `i`'s OUT pin now.
    pub fn out(&self, i: usize, now: u64) -> bool {
        self.channels.get(i).is_some_and(|c| c.out(now))
    }

    /// When IRQ 0 is next due (a rising edge of channel 0's OUT) strictly after `after`, no
    /// sooner than [`MIN_IRQ_PERIOD_NS`] after `last` (the previous one); `None` if channel 0
    /// will not rise again as programmed.
    pub fn next_irq(&self, after: u64, last: Option<u64>) -> Option<u64> {
        let ch = &self.channels[0];
        let mut tick = ch.next_rise(ch.ticks(after))?;
        // Rounding to nanoseconds can put the edge at `after` itself: then the one after it.
        if ch.time_of(tick) <= after {
            tick = ch.next_rise(tick).filter(|&t| ch.time_of(t) > after)?;
        }
        let at = ch.time_of(tick);
        Some(match last {
            Some(last) => at.max(last.saturating_add(MIN_IRQ_PERIOD_NS)),
            None => at,
        })
    }
}

impl Stateful for Pit {
    type State = Pit;

    fn save(&self) -> Pit {
        self.clone()
    }

    fn restore(&mut self, state: Pit) -> Result<(), StateError> {
        if state
            .channels
            .iter()
            .any(|c| c.count > 0x1_0000 || c.mode > 5 || c.rw_mode > 3 || c.read_state > 4)
        {
            return Err(StateError::Invalid("an 8254 channel state out of range"));
        }
        *self = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nanoseconds for `ticks` input clocks.
    fn ns(ticks: u64) -> u64 {
        (u128::from(ticks) * NS_PER_S).div_ceil(u128::from(PIT_FREQ)) as u64
    }

    fn program(pit: &mut Pit, channel: u8, mode: u8, count: u16, now: u64) {
        pit.write(3, channel << 6 | 0x30 | mode << 1, now);
        pit.write(u16::from(channel), count as u8, now);
        pit.write(u16::from(channel), (count >> 8) as u8, now);
    }

    fn read_count(pit: &mut Pit, channel: u16, now: u64) -> u16 {
        pit.write(3, (channel as u8) << 6, now); // latch
        let lo = pit.read(channel, now);
        let hi = pit.read(channel, now);
        u16::from_le_bytes([lo, hi])
    }

    #[test]
    fn test_unprogrammed_has_no_irq() {
        assert_eq!(Pit::new().next_irq(0, None), None);
    }

    #[test]
    fn test_mode_2_rate() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 2, 1193, 1_000);
        let first = pit.next_irq(1_000, None).unwrap();
        let second = pit.next_irq(first, Some(first)).unwrap();
        assert_eq!(first, 1_000 + ns(1193));
        assert!(
            (second - first).abs_diff(999_847) <= 1,
            "{}",
            second - first
        );
    }

    #[test]
    fn test_mode_3_square_wave() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 3, 100, 0);
        assert!(pit.out(0, ns(10)));
        assert!(!pit.out(0, ns(60)));
        assert!(pit.out(0, ns(101)));
    }

    #[test]
    fn test_mode_0_one_shot() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 0, 500, 0);
        assert!(!pit.out(0, ns(499)));
        assert!(pit.out(0, ns(500) + 1));
        let at = pit.next_irq(0, None).unwrap();
        assert_eq!(pit.next_irq(at, Some(at)), None, "fires once");
    }

    #[test]
    fn test_count_zero_is_65536() {
        let mut pit = Pit::new();
        pit.bios_setup(0);
        let at = pit.next_irq(0, None).unwrap();
        assert!(at.abs_diff(54_925_400) < 1_000, "{at}");
    }

    #[test]
    fn test_latched_count_falls() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 2, 0xFFFF, 0);
        let a = read_count(&mut pit, 0, ns(100));
        let b = read_count(&mut pit, 0, ns(5000));
        assert_eq!((a, b), (0xFFFF - 100, 0xFFFF - 5000));
    }

    #[test]
    fn test_latch_holds_until_read() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 2, 1000, 0);
        pit.write(3, 0x00, ns(10));
        let lo = pit.read(0, ns(500));
        let hi = pit.read(0, ns(500));
        assert_eq!(u16::from_le_bytes([lo, hi]), 990);
    }

    #[test]
    fn test_live_reads_alternate_bytes() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 2, 0x1234, 0);
        assert_eq!((pit.read(0, 0), pit.read(0, 0)), (0x34, 0x12));
    }

    #[test]
    fn test_lsb_only_access() {
        let mut pit = Pit::new();
        pit.write(3, 0x14, 0); // channel 0, LSB only, mode 2
        pit.write(0, 50, 0);
        assert_eq!(pit.channels[0].count, 50);
    }

    #[test]
    fn test_read_back_status() {
        let mut pit = Pit::new();
        program(&mut pit, 2, 0, 100, 0);
        pit.speaker_write(1, 0);
        pit.write(3, 0xE8, ns(200)); // read-back status of channel 2
        assert_eq!(pit.read(2, ns(200)), 0x80 | 0x30);
    }

    #[test]
    fn test_speaker_port_gate_and_output() {
        let mut pit = Pit::new();
        pit.speaker_write(0x03, 0);
        program(&mut pit, 2, 0, 1000, 0);
        let early = pit.speaker_read(ns(10));
        let late = pit.speaker_read(ns(2000));
        assert_eq!((early & 0x23, late & 0x23), (0x03, 0x23));
        assert_ne!(early & 0x10, late & 0x10, "refresh bit toggles");
    }

    #[test]
    fn test_gate_rising_edge_restarts_mode_2() {
        let mut pit = Pit::new();
        program(&mut pit, 2, 2, 1000, 0);
        pit.speaker_write(1, ns(700));
        assert_eq!(read_count(&mut pit, 2, ns(710)), 990);
    }

    #[test]
    fn test_irq_rate_is_capped() {
        let mut pit = Pit::new();
        program(&mut pit, 0, 2, 1, 0);
        let first = pit.next_irq(0, None).unwrap();
        let second = pit.next_irq(first, Some(first)).unwrap();
        assert_eq!(second - first, MIN_IRQ_PERIOD_NS);
    }

    #[test]
    fn test_nonsense_never_panics() {
        let mut pit = Pit::new();
        let mut now = 0;
        for v in 0..=255u8 {
            for port in 0..5 {
                pit.write(port, v, now);
                pit.read(port, now);
            }
            pit.speaker_write(v, now);
            pit.speaker_read(now);
            let _ = pit.next_irq(now, Some(now));
            now += 1_000;
        }
        let _ = pit.next_irq(u64::MAX, Some(u64::MAX));
    }

    #[test]
    fn test_restore_refuses_bad_state() {
        let mut state = Pit::new();
        state.channels[1].mode = 9;
        assert!(Pit::new().restore(state).is_err());
    }
}
