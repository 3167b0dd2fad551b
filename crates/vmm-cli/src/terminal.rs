//! The terminal while a machine with a serial port runs: raw input, so that every key reaches
//! the guest as typed, and restored on every way out (the guard's drop runs after the run ends,
//! Ctrl-C included: signals stay enabled, so Ctrl-C still stops the run).

/// Restores the terminal's settings when dropped.
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// Puts stdin's terminal in raw mode, keeping signal keys (Ctrl-C) and output processing
    /// (newline as CR LF). `None` when stdin is not a terminal: then nothing changes.
    pub fn enable() -> Option<RawMode> {
        Self::with_signals(true)
    }

    /// Raw mode with every key going to the program, Ctrl-C included (the live display's:
    /// it has its own key to leave). Signals from elsewhere still stop the run.
    pub fn enable_all_keys() -> Option<RawMode> {
        Self::with_signals(false)
    }

    fn with_signals(signal_keys: bool) -> Option<RawMode> {
        // SAFETY: isatty has no preconditions.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } != 1 {
            return None;
        }
        // SAFETY: a zeroed termios is a valid buffer for tcgetattr to fill.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: stdin is a terminal and `saved` is a valid termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut saved) } != 0 {
            return None;
        }
        let mut raw = saved;
        // SAFETY: `raw` is a valid termios copied from the terminal's settings.
        unsafe { libc::cfmakeraw(&mut raw) };
        if signal_keys {
            raw.c_lflag |= libc::ISIG;
        }
        raw.c_oflag |= libc::OPOST;
        // SAFETY: stdin is a terminal and `raw` is a valid termios.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return None;
        }
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the settings read from this terminal in `enable`.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved) };
    }
}
