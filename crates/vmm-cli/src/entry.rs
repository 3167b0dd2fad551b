//! What the process does before `picovmm`'s own work: the part of Rust's runtime start-up that
//! picovmm relies on. The binary has its own C `main` (`#![no_main]`) because Rust's start-up
//! also finds the main thread's stack with `pthread_getattr_np`, which reads /proc/self/maps
//! through the C library's stdio and `sscanf`: about a quarter of a MiB of the C library paged
//! in by every run (the kernel maps 64 KiB around each page touched), for the message Rust
//! prints on a stack overflow. Without it a stack overflow still ends the process, by SIGSEGV.

/// Readies the process as Rust's runtime would: the standard file descriptors open, and a
/// write to a closed pipe an error (EPIPE) rather than a signal that ends the process.
pub fn prepare() {
    open_missing_standard_fds();
    // SAFETY: setting SIGPIPE's disposition to "ignore" takes no pointer and runs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed, so that a file picovmm
/// opens later (a disk image, a snapshot) never becomes its standard output or error.
fn open_missing_standard_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD on any descriptor number only queries its flags.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: the path is a NUL-terminated constant; open takes the lowest free
            // descriptor, which is `fd` (the lower ones are open).
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_prepare_with_standard_fds_open_leaves_them_and_ignores_sigpipe() {
        prepare();

        // SAFETY: querying the current disposition (a null new action) changes nothing.
        let old = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old);
            old.sa_sigaction
        };
        assert_eq!(old, libc::SIG_IGN);
    }
}
