//! Interrupt lines: how a device raises an interrupt without knowing which controller takes it.
//!
//! A device holds an [`IrqLine`] and drives it; the board decides what is on the other end (a
//! PIC input, or nothing). ISA devices on a PC raise edges: [`IrqLine::pulse`] is one, and
//! [`LineTrigger`] gives the same to a vm-superio model through its `Trigger` trait.

use std::sync::Arc;

use vm_superio::Trigger;

/// One interrupt request line into an interrupt controller.
pub trait IrqLine: Send + Sync {
    /// Drives the line high (`true`) or low.
    fn set_level(&self, high: bool);

    /// A rising edge, then the line low again: one interrupt request on an edge-triggered input.
    fn pulse(&self) {
        self.set_level(true);
        self.set_level(false);
    }
}

/// A line that goes nowhere: for a device on a machine without an interrupt controller.
pub struct NoLine;

impl IrqLine for NoLine {
    fn set_level(&self, _high: bool) {}
}

/// vm-superio's `Trigger` over a line: each trigger is one edge.
#[derive(Clone)]
pub struct LineTrigger(pub Arc<dyn IrqLine>);

impl LineTrigger {
    /// A trigger that raises nothing.
    pub fn none() -> Self {
        LineTrigger(Arc::new(NoLine))
    }
}

impl Trigger for LineTrigger {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        self.0.pulse();
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A line that records what was done to it.
    use super::*;
    use std::sync::Mutex;

    /// Records every level it is driven to.
    #[derive(Default)]
    pub struct RecordingLine {
        pub levels: Mutex<Vec<bool>>,
    }

    impl RecordingLine {
        /// Rising edges seen so far.
        pub fn edges(&self) -> usize {
            let levels = self.levels.lock().unwrap();
            let mut last = false;
            let mut edges = 0;
            for &l in levels.iter() {
                if l && !last {
                    edges += 1;
                }
                last = l;
            }
            edges
        }

        /// The level now.
        pub fn level(&self) -> bool {
            self.levels.lock().unwrap().last().copied().unwrap_or(false)
        }
    }

    impl IrqLine for RecordingLine {
        fn set_level(&self, high: bool) {
            self.levels.lock().unwrap().push(high);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::RecordingLine;
    use super::*;

    #[test]
    fn test_trigger_is_one_edge() {
        let line = Arc::new(RecordingLine::default());
        let trigger = LineTrigger(line.clone());
        trigger.trigger().unwrap();
        trigger.trigger().unwrap();
        assert_eq!((line.edges(), line.level()), (2, false));
    }
}
