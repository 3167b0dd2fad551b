//! The Rust SDK's ABI 1.1 side, driven through the mock host as a plugin author would test a
//! plugin: interrupt lines, timers and their callbacks, config lookups, ending the run, and
//! saving and loading state.

use std::time::Duration;

use picovmm_plugin::sdk::EndRun;
use picovmm_plugin::testing::{MockEvent, MockHost, MockValue};
use picovmm_plugin::{abi, Host, Plugin};

/// Counts timer ticks and raises its line on each; port 0 reads the count.
struct Ticker {
    host: Host,
    ticks: u8,
    limit: i64,
}

impl Plugin for Ticker {
    const NAME: &'static str = "ticker";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str = "a tick counter";
    const ACCESSES: u32 = abi::ACCESS_PORT;
    const SAVES_STATE: bool = true;

    fn create(host: Host, _config: &str) -> Result<Self, String> {
        if host.irq_lines() != 1 {
            return Err("ticker needs one interrupt line".into());
        }
        let period = host.config_int("period_ms").unwrap_or(10);
        let limit = host.config_int("limit").unwrap_or(3);
        host.add_timer(
            Duration::from_millis(period as u64),
            Some(Duration::from_millis(period as u64)),
            7,
        )
        .ok_or("no timer")?;
        Ok(Ticker {
            host,
            ticks: 0,
            limit,
        })
    }

    fn on_event(&mut self, token: u64) {
        assert_eq!(token, 7);
        self.ticks += 1;
        let _ = self.host.pulse_irq(0);
        if i64::from(self.ticks) >= self.limit {
            let name = self.host.instance_name();
            self.host
                .end_run(EndRun::Halted, &format!("{name}: {} ticks", self.ticks));
        }
    }

    fn port_read(&mut self, _offset: u16, data: &mut [u8]) -> Result<(), String> {
        data[0] = self.ticks;
        Ok(())
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        Some(vec![self.ticks])
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.ticks = *state.first().ok_or("empty state")?;
        Ok(())
    }
}

#[test]
fn test_ticker_through_the_mock_host() {
    let host = MockHost::new();
    host.set_irq_lines(1);
    host.set_config("period_ms", MockValue::Int(5));
    host.set_config("limit", MockValue::Int(2));
    host.set_surroundings("ticker0", "/machines");
    let mut ticker = host
        .create::<Ticker>("period_ms = 5\nlimit = 2\n")
        .expect("created");
    assert_eq!(
        host.events(),
        [MockEvent::Timer {
            id: 1,
            delay: Duration::from_millis(5),
            period: Some(Duration::from_millis(5)),
            token: 7
        }]
    );
    ticker.fire(7);
    assert_eq!(ticker.port_read(0, 1), Ok(vec![1]));
    assert_eq!(host.pulses(), [0]);
    assert_eq!(host.ended(), None);
    ticker.fire(7);
    assert_eq!(
        host.ended(),
        Some((abi::END_HALTED, "ticker0: 2 ticks".into()))
    );
    let saved = ticker.save().expect("saves");
    assert_eq!(saved, [2]);
    ticker.fire(7);
    ticker.load(&saved).expect("loads");
    assert_eq!(ticker.port_read(0, 1), Ok(vec![2]));
}

#[test]
fn test_a_refused_config_is_an_error_message() {
    let host = MockHost::new();
    let err = host.create::<Ticker>("").err().expect("refused");
    assert_eq!(err, "ticker needs one interrupt line");
}
