//! A mostly empty image kept without its zeros: the runs of bytes that are not zero (short
//! gaps of zeros kept inside a run) and where each goes, worked out when picovmm is compiled.
//! The 64 KiB ROM holds about 1.4 KiB that are not zero; copied whole at power-on it made 64
//! KiB of the binary and 64 KiB of guest memory resident in every run.

/// The most zero bytes kept inside a run (a longer gap ends it).
const GAP: usize = 16;

/// The run of `image` that starts at the first byte at or after `from` that is not zero:
/// its start and end; `None` when the rest is zero.
const fn next_run(image: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut start = from;
    while start < image.len() && image[start] == 0 {
        start += 1;
    }
    if start == image.len() {
        return None;
    }
    let mut end = start;
    let mut at = start;
    while at < image.len() && at - end <= GAP {
        if image[at] != 0 {
            end = at + 1;
        }
        at += 1;
    }
    Some((start, end))
}

/// How many runs `image` has.
pub const fn run_count(image: &[u8]) -> usize {
    let (mut count, mut from) = (0, 0);
    while let Some((_, end)) = next_run(image, from) {
        count += 1;
        from = end;
    }
    count
}

/// How many bytes `image`'s runs hold.
pub const fn packed_len(image: &[u8]) -> usize {
    let (mut len, mut from) = (0, 0);
    while let Some((start, end)) = next_run(image, from) {
        len += end - start;
        from = end;
    }
    len
}

/// `image`'s runs: where each starts, and its length (`N` is [`run_count`]).
pub const fn runs<const N: usize>(image: &[u8]) -> [(usize, usize); N] {
    let mut runs = [(0, 0); N];
    let (mut i, mut from) = (0, 0);
    while let Some((start, end)) = next_run(image, from) {
        runs[i] = (start, end - start);
        i += 1;
        from = end;
    }
    runs
}

/// `image`'s runs' bytes, one after another (`L` is [`packed_len`]).
pub const fn pack<const L: usize>(image: &[u8]) -> [u8; L] {
    let mut bytes = [0; L];
    let (mut i, mut from) = (0, 0);
    while let Some((start, end)) = next_run(image, from) {
        let mut at = start;
        while at < end {
            bytes[i] = image[at];
            i += 1;
            at += 1;
        }
        from = end;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: [u8; 64] = {
        let mut image = [0; 64];
        image[3] = 1;
        image[10] = 2; // 6 zeros after the first: the same run
        image[40] = 3; // 29 zeros: a new run
        image[63] = 4;
        image
    };

    #[test]
    fn test_runs_of_an_image_keep_short_gaps_and_split_at_long_ones() {
        let runs: [(usize, usize); 3] = runs(&IMAGE);

        assert_eq!(run_count(&IMAGE), 3);
        assert_eq!(runs, [(3, 8), (40, 1), (63, 1)]);
    }

    #[test]
    fn test_pack_of_an_image_holds_its_runs_bytes_in_order() {
        let bytes: [u8; 10] = pack(&IMAGE);

        assert_eq!(packed_len(&IMAGE), 10);
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 2, 3, 4]);
    }
}
