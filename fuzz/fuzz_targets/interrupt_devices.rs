//! The interrupt controller, the timer and the keyboard controller fed what a guest and the
//! host can hand them: each 4-byte record is one operation (a port access at a time that only
//! moves forward, a line raised or lowered, an INTA cycle, typed text). Nothing may panic,
//! the PIC's acknowledge always yields a vector, the PIT's next interrupt is never in the past,
//! and the i8042's queues stay bounded.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use vmm_devices::i8042::{I8042, TYPEAHEAD_LIMIT};
use vmm_devices::irq::NoLine;
use vmm_devices::keymap;
use vmm_devices::pic::{PicPair, ELCR_PORT, MASTER_PORT, SLAVE_PORT};
use vmm_devices::pit::{Pit, MIN_IRQ_PERIOD_NS};
use vmm_devices::state::Stateful;

fuzz_target!(|data: &[u8]| {
    let mut pic = PicPair::new();
    let mut pit = Pit::new();
    let mut kbc = I8042::new(Arc::new(NoLine), || {});
    let mut now: u64 = 0;
    let mut last_irq: Option<u64> = None;
    for r in data.chunks_exact(4) {
        let (op, a, b) = (r[0], r[1], r[2]);
        // Time moves forward by up to ~16 ms per record, sometimes by a lot.
        now = now.saturating_add(u64::from(r[3]) << (r[3] % 16));
        match op % 10 {
            0 => pic.write([MASTER_PORT, SLAVE_PORT, ELCR_PORT][usize::from(a % 3)], u16::from(a >> 7), b),
            1 => {
                let _ = pic.read([MASTER_PORT, SLAVE_PORT, ELCR_PORT][usize::from(a % 3)], u16::from(a >> 7));
            }
            2 => pic.set_irq(a, b & 1 == 1),
            3 => {
                let (vector, line) = pic.acknowledge_line();
                assert!(line.is_none_or(|l| l < 16));
                let _ = vector;
            }
            4 => pit.write(u16::from(a % 5), b, now),
            5 => {
                let _ = pit.read(u16::from(a % 5), now);
                let _ = pit.speaker_read(now);
            }
            6 => pit.speaker_write(b, now),
            7 => {
                if let Some(at) = pit.next_irq(now, last_irq) {
                    assert!(at > now, "the next interrupt is in the future");
                    if let Some(last) = last_irq {
                        assert!(at >= last.saturating_add(MIN_IRQ_PERIOD_NS));
                    }
                    last_irq = Some(at);
                }
            }
            8 => {
                if a & 1 == 0 {
                    kbc.write_command(b)
                } else {
                    kbc.write_data(b)
                }
                let _ = kbc.read_status();
                let _ = kbc.read_data();
            }
            _ => {
                let text = String::from_utf8_lossy(&r[1..3]);
                if let Ok(events) = keymap::type_text(&text) {
                    kbc.type_ahead(&events);
                }
                assert!(kbc.typeahead_len() <= TYPEAHEAD_LIMIT);
            }
        }
    }
    // Whatever state the guest left, it saves and restores.
    let saved = pic.save();
    pic.restore(saved).expect("a PIC state restores");
    let saved = pit.save();
    pit.restore(saved).expect("a PIT state restores");
    let saved = kbc.save();
    kbc.restore(saved).expect("an i8042 state restores");
});
