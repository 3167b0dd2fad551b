//! A gdb remote stub (`--gdb [HOST:]PORT`, QEMU's `-gdb`), built on the gdbstub crate as crosvm
//! and Cloud Hypervisor build theirs, that understands real mode.
//!
//! The stub serves one client at a time from its own thread. It reaches the vCPU only through
//! the vCPU's control handle: on attach it pauses the guest; every register and memory access
//! is a request the paused vCPU serves; `continue` and `stepi` set the debug registers and
//! resume it. The vCPU's run policy ([`vmm_machine::board::Board::run_debugged`]) tells the stub when
//! the guest stopped through a [`Hub`]. While no client is attached the guest runs at full
//! speed, and debug events do not stop it.
//!
//! Which register file gdb gets is chosen when it attaches, from the CPU's mode then: the i386
//! registers (described as `i8086` in real mode, so gdb disassembles 16-bit code) or the
//! x86-64 ones in long mode. gdb reads the description once per connection: after the guest
//! switches from real to protected mode, `set architecture i386` disassembles 32-bit code;
//! after a switch to long mode, reconnect. docs/debugging.md has a session.

mod hub;
mod regs;
mod run;
mod target;

use std::io;
use std::marker::PhantomData;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStubBuilder, SingleThreadStopReason};
use gdbstub_arch::x86::{X86_64_SSE, X86_SSE};
use vmm_core::{GuestDebug, StopReason};

pub use hub::{Hub, Stop};
pub use regs::{pc, set_pc, GdbRegs, Mode};
pub use run::run_debugged;
pub use target::read_guest;
use target::GdbTarget;
pub use vmm_machine::units::listen_address;

use vmm_machine::MachineHandle;

/// How often a Ctrl-C looks whether the guest was stopped already.
const INTERRUPT_POLL_MS: i32 = 20;

/// The largest packet a client may send (gdb learns it as PacketSize).
const PACKET_SIZE: usize = 4096;

/// The stub's thread.
pub struct GdbServer {
    hub: Arc<Hub>,
    thread: Option<JoinHandle<()>>,
}

impl GdbServer {
    /// Serves gdb clients on `listener` for the machine behind `machine`.
    pub fn start(
        listener: TcpListener,
        machine: MachineHandle,
        hub: Arc<Hub>,
    ) -> io::Result<GdbServer> {
        let thread = {
            let hub = hub.clone();
            thread::Builder::new()
                .name("gdb".into())
                .spawn(move || serve(&listener, &machine, &hub))?
        };
        Ok(GdbServer {
            hub,
            thread: Some(thread),
        })
    }

    /// After the run: gives an attached gdb a moment to hear that the guest exited.
    pub fn finish(mut self) {
        let deadline = Instant::now() + Duration::from_millis(500);
        if let Some(thread) = self.thread.take() {
            while self.hub.attached() && !thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn serve(listener: &TcpListener, machine: &MachineHandle, hub: &Arc<Hub>) {
    let control = machine.control();
    loop {
        let Ok((stream, peer)) = listener.accept() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        crate::errln!("picovmm: gdb attached from {peer}");
        hub.set_attached(true);
        // gdb expects a stopped target: stop the guest, unless it waits already (--gdb-wait).
        if !hub.paused() {
            control.pause();
            if let Stop::Ended(_) = hub.wait() {
                return;
            }
        }
        hub.clear();
        let mode = control
            .call(|vcpu| vcpu.sregs().map(|s| Mode::of(&s)).ok())
            .flatten();
        let Some(mode) = mode else {
            return; // the vCPU is gone: the run is over
        };
        let result = match mode {
            Mode::Long => session::<X86_64_SSE>(stream, machine, hub, false),
            _ => session::<X86_SSE>(stream, machine, hub, mode == Mode::Real),
        };
        match result {
            Ok(DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_)) => {
                hub.set_attached(false);
                return;
            }
            Ok(DisconnectReason::Kill) => {
                crate::errln!("picovmm: gdb killed the guest");
                hub.set_attached(false);
                control.stop(StopReason::Interrupted);
                return;
            }
            Ok(DisconnectReason::Disconnect) => {
                crate::errln!("picovmm: gdb detached; the guest runs on")
            }
            Err(e) => crate::errln!("picovmm: gdb connection ended ({e}); the guest runs on"),
        }
        // Detach: no breakpoint, watch or step may stop the guest any more.
        let _ = control.call(|vcpu| vcpu.set_guest_debug(&GuestDebug::default()));
        hub.set_watches(Vec::new(), false);
        hub.set_attached(false);
        hub.clear();
        control.resume();
    }
}

fn session<A>(
    stream: TcpStream,
    machine: &MachineHandle,
    hub: &Arc<Hub>,
    real_mode: bool,
) -> Result<DisconnectReason, String>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: regs::GdbRegs,
    A::Usize: Into<u64>,
{
    let mut target = GdbTarget::<A>::new(machine.clone(), hub.clone(), real_mode);
    // A fixed buffer (the size gdb is told as PacketSize): a packet that never ends fills it
    // and ends the connection, instead of growing picovmm's memory without bound.
    let mut packets = vec![0u8; PACKET_SIZE];
    GdbStubBuilder::new(stream)
        .with_packet_buffer(&mut packets)
        .build()
        .map_err(|e| e.to_string())?
        .run_blocking::<EventLoop<A>>(&mut target)
        .map_err(|e| e.to_string())
}

/// Waits for the guest or the client, whichever speaks first: poll(2) on the socket and the
/// hub's eventfd, no polling period.
struct EventLoop<A>(PhantomData<A>);

impl<A> BlockingEventLoop for EventLoop<A>
where
    A: Arch<BreakpointKind = usize>,
    A::Registers: regs::GdbRegs,
    A::Usize: Into<u64>,
{
    type Target = GdbTarget<A>;
    type Connection = TcpStream;
    type StopReason = SingleThreadStopReason<A::Usize>;

    fn wait_for_stop_reason(
        target: &mut GdbTarget<A>,
        conn: &mut TcpStream,
    ) -> Result<Event<Self::StopReason>, WaitForStopReasonError<target::Error, io::Error>> {
        loop {
            if let Some(stop) = target.hub().take() {
                return Ok(Event::TargetStopped(stop_reason::<A>(target, stop)));
            }
            let mut fds = [
                libc::pollfd {
                    fd: conn.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: target.hub().fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: `fds` is a valid array of two pollfds for the duration of the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n > 0 && fds[0].revents != 0 {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                return Ok(Event::IncomingData(byte));
            }
        }
    }

    /// Ctrl-C: pauses a running guest and reports its stop. A guest already stopped (a Ctrl-C
    /// while stopped, or a second one) reports SIGINT without waiting for a stop that will
    /// never come.
    fn on_interrupt(target: &mut GdbTarget<A>) -> Result<Option<Self::StopReason>, target::Error> {
        target.control().pause();
        loop {
            if let Some(stop) = target.hub().wait_for(INTERRUPT_POLL_MS) {
                return Ok(Some(stop_reason::<A>(target, stop)));
            }
            if target.hub().paused() {
                return Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)));
            }
        }
    }
}

fn stop_reason<A>(target: &GdbTarget<A>, stop: Stop) -> SingleThreadStopReason<A::Usize>
where
    A: Arch<BreakpointKind = usize>,
{
    target.stop_reason::<A::Usize>(stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_port_alone_listens_on_loopback() {
        assert_eq!(listen_address("1234").as_deref(), Ok("127.0.0.1:1234"));
    }

    #[test]
    fn test_host_and_port_and_qemu_tcp_prefix() {
        assert_eq!(
            listen_address("0.0.0.0:1234").as_deref(),
            Ok("0.0.0.0:1234")
        );
        assert_eq!(listen_address("tcp::1234").as_deref(), Ok("127.0.0.1:1234"));
    }

    #[test]
    fn test_bad_port_is_refused() {
        assert!(listen_address("localhost:99999").is_err());
        assert!(listen_address("gdb").is_err());
    }
}
