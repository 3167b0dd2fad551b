//! Handing host input to a device that takes it as it has room (a UART's receive FIFO, a
//! keyboard's type-ahead), waiting while it has none: nothing the host gave is dropped, and
//! the guest takes it at its own pace.

use std::time::Duration;

/// Gives `items` to `take` until all are taken. `take` returns how many of its argument the
/// device took (all of them when the device is gone); while it takes none, this waits `wait`.
/// `after` runs after each hand-over that took something.
pub fn hand_over<T>(
    mut items: &[T],
    wait: Duration,
    mut take: impl FnMut(&[T]) -> usize,
    mut after: impl FnMut(),
) {
    while !items.is_empty() {
        let taken = take(items).min(items.len());
        items = &items[taken..];
        if taken == 0 {
            std::thread::sleep(wait);
        } else {
            after();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_everything_is_handed_over_in_pieces() {
        let mut got = Vec::new();
        let mut calls = 0;
        let mut woken = 0;
        hand_over(
            &[1, 2, 3, 4, 5],
            Duration::from_millis(1),
            |rest| {
                calls += 1;
                // Room for two, every other call.
                let n = if calls % 2 == 0 { 0 } else { rest.len().min(2) };
                got.extend_from_slice(&rest[..n]);
                n
            },
            || woken += 1,
        );
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert_eq!(woken, 3);
    }
}
