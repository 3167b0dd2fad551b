//! The one stdin reader: a thread that hands what arrives on stdin to a consumer (the serial
//! port's feeder, or the live display's key parser) until stdin ends. It is not joined: it
//! may be blocked reading a terminal when the run ends.

use std::io::Read;
use std::thread;

/// The reader only copies bytes: a small stack keeps its start cheap.
const READER_STACK: usize = 256 * 1024;

/// Starts a thread named `name` that gives every chunk read from stdin to `consume`.
pub fn read_stdin(
    name: &str,
    mut consume: impl FnMut(&[u8]) + Send + 'static,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name(name.into())
        .stack_size(READER_STACK)
        .spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => consume(&buf[..n]),
                    // A stop signal landed on this thread: it is the vCPU's business, not ours.
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        })
        .map(drop)
}
