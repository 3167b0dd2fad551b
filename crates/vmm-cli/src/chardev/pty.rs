//! A pseudo-terminal for a serial port: picovmm holds the master (non-blocking, so a guest
//! printing to a terminal nobody has open never stalls), a terminal program opens the slave.

use std::fs::File;
use std::os::fd::FromRawFd;

/// Opens a pty; returns its master and the slave's path.
pub fn open() -> std::io::Result<(File, String)> {
    // SAFETY: posix_openpt has no preconditions; its result is checked.
    let fd = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor this function owns; the File closes it.
    let master = unsafe { File::from_raw_fd(fd) };
    // SAFETY: grantpt and unlockpt take the master descriptor opened above.
    if unsafe { libc::grantpt(fd) } != 0 || unsafe { libc::unlockpt(fd) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes at most `name.len()` bytes, NUL included, into `name`.
    if unsafe { libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated string.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    raw(&master)?;
    Ok((master, path))
}

/// Puts the terminal in raw mode: bytes pass as the guest sends them (no CR added, no echo).
fn raw(master: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed termios is a valid buffer for tcgetattr to fill.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr fills `t` for the open descriptor.
    if unsafe { libc::tcgetattr(master.as_raw_fd(), &mut t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: cfmakeraw only edits the struct it is given.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: tcsetattr reads `t`, which lives for the call.
    if unsafe { libc::tcsetattr(master.as_raw_fd(), libc::TCSANOW, &t) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
