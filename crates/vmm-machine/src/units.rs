//! Sizes, addresses and durations as people write them: `"640 KiB"`, `0x7c00`, `"2s"`.

use std::time::Duration;

/// What a size may look like, for error messages.
pub const SIZE_FORMS: &str =
    "a number of bytes, or a string like \"640 KiB\", \"16 MiB\" or \"1 GiB\" (B, KiB, MiB, GiB; K, M, G are the same)";

/// Parses `"640 KiB"`, `"16M"`, `"4096"`, `"0x1000"` into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    // A hexadecimal size is all digits; a decimal one may be followed by a unit.
    let number_end = if t.starts_with("0x") || t.starts_with("0X") {
        t.len()
    } else {
        t.find(|c: char| !c.is_ascii_digit() && c != '_')
            .unwrap_or(t.len())
    };
    let (number, unit) = (&t[..number_end], t[number_end..].trim());
    let invalid = || format!("invalid size \"{text}\": expected {SIZE_FORMS}");
    let n = parse_u64(number).ok_or_else(invalid)?;
    let multiplier: u64 = match unit {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(invalid()),
    };
    n.checked_mul(multiplier)
        .ok_or_else(|| format!("size \"{text}\" is larger than 2^64 bytes"))
}

/// Parses a decimal or `0x` hexadecimal unsigned integer.
pub fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim().replace('_', "");
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse().ok(),
        None => None,
    }
}

/// Formats a byte count the way people read it: "640 KiB", "1 MiB", "4097 B".
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (scale, unit) in UNITS {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{} {unit}", bytes / scale);
        }
    }
    format!("{bytes} B")
}

/// A byte count rounded for people: "23.4 GiB"; exact sizes as [`format_size`] gives them.
pub fn format_size_approx(bytes: u64) -> String {
    const UNITS: [(u64, &str); 2] = [(1 << 30, "GiB"), (1 << 20, "MiB")];
    match UNITS
        .iter()
        .find(|(scale, _)| bytes >= *scale && !bytes.is_multiple_of(*scale))
    {
        Some((scale, unit)) => format!("{:.1} {unit}", bytes as f64 / *scale as f64),
        None => format_size(bytes),
    }
}

/// Parses `"2s"`, `"500ms"`, `"1.5s"`, `"1m"`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        return Err(format!(
            "invalid duration \"{text}\": give a unit, like 2s, 500ms or 1m (us, ms, s, m, h)"
        ));
    };
    let invalid = || {
        format!("invalid duration \"{text}\": expected a number with a unit, like 2s, 500ms or 1m")
    };
    let value: f64 = number.trim().parse().map_err(|_| invalid())?;
    let seconds = value * scale;
    if seconds == 0.0 {
        return Err(format!(
            "invalid duration \"{text}\": a limit of 0 would stop the guest before its first instruction (leave the flag out for no limit)"
        ));
    }
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(invalid());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

/// A control socket's address: `unix:PATH` (the only transport; the name leaves room for more).
pub fn control_socket(text: &str) -> Result<std::path::PathBuf, String> {
    match text.strip_prefix("unix:") {
        Some(path) if !path.is_empty() => Ok(std::path::PathBuf::from(path)),
        Some(_) => Err("unix: needs a path: unix:PATH".into()),
        None => Err(format!(
            "{text:?} is not a control socket address; write unix:PATH"
        )),
    }
}

/// The address `--gdb` listens on: `PORT` alone is 127.0.0.1:PORT (never every interface
/// unless the user names it), as QEMU's `-gdb tcp::PORT` is local in practice.
pub fn listen_address(spec: &str) -> Result<String, String> {
    let (host, port) = match spec.rsplit_once(':') {
        Some((host, port)) => (host.trim_start_matches("tcp:"), port),
        None => ("", spec),
    };
    let port: u16 = port.parse().map_err(|_| {
        format!("invalid gdb address {spec:?}: expected [HOST:]PORT, like 1234 or 127.0.0.1:1234")
    })?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Ok(format!("{host}:{port}"))
}

/// The keys QEMU's long `-drive` form takes here.
const QEMU_DRIVE_KEYS: &str =
    "file, format=raw, if=floppy|ide, readonly=on|off, snapshot=on|off, media=disk";

/// QEMU's spelling: `file=X,format=raw,if=floppy|ide,readonly=on,snapshot=on,media=disk`.
fn qemu_drive(text: &str) -> Result<crate::spec::DriveSpec, String> {
    let mut drive = crate::spec::DriveSpec {
        path: std::path::PathBuf::new(),
        kind: None,
        mode: vmm_bios::WriteMode::Write,
    };
    let on = |key: &str, value: &str| match value {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{key}={value}: expected on or off")),
    };
    // A file name may hold commas only as QEMU writes them: doubled.
    let escaped = text.replace(",,", "\u{0}");
    for part in escaped.split(',') {
        let part = part.replace('\u{0}', ",");
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not KEY=VALUE; keys: {QEMU_DRIVE_KEYS}"))?;
        match (key, value) {
            ("file", path) => drive.path = std::path::PathBuf::from(path),
            ("format", "raw") | ("media", "disk") => {}
            ("format", other) => {
                return Err(format!("format={other}: picovmm reads raw images only"))
            }
            ("media", other) => return Err(format!("media={other}: only disks (media=disk)")),
            ("if", "floppy") => drive.kind = Some(vmm_bios::DriveKind::Floppy),
            ("if", "ide") => drive.kind = Some(vmm_bios::DriveKind::Hard),
            ("if", other) => return Err(format!("if={other}: floppy or ide")),
            ("readonly", v) if on(key, v)? => drive.mode = vmm_bios::WriteMode::ReadOnly,
            ("snapshot", v) if on(key, v)? => {
                if drive.mode == vmm_bios::WriteMode::ReadOnly {
                    return Err("a drive is readonly or snapshot, not both".into());
                }
                drive.mode = vmm_bios::WriteMode::Snapshot;
            }
            ("readonly" | "snapshot", _) => {}
            _ => {
                return Err(format!(
                    "unknown drive key {key:?}; keys: {QEMU_DRIVE_KEYS}"
                ))
            }
        }
    }
    if drive.path.as_os_str().is_empty() {
        return Err(format!("file= is missing; keys: {QEMU_DRIVE_KEYS}"));
    }
    Ok(drive)
}

/// The options a `--drive` takes after commas.
const DRIVE_OPTIONS: &str = "readonly, snapshot, floppy, hd";

/// `FILE[,readonly|,snapshot][,floppy|,hd]`: options are the known words after the last
/// commas, so a file name with a comma still works; a word that is no option, after a comma,
/// in a file name that does not exist, is reported as the unknown option it is.
pub fn drive(text: &str) -> Result<crate::spec::DriveSpec, String> {
    if text.starts_with("file=") || text.contains(",file=") {
        return qemu_drive(text);
    }
    let mut drive = crate::spec::DriveSpec {
        path: std::path::PathBuf::new(),
        kind: None,
        mode: vmm_bios::WriteMode::Write,
    };
    let (mut mode, mut kind) = (None, None);
    let mut rest = text;
    while let Some((head, option)) = rest.rsplit_once(',') {
        let (slot, value) = match option {
            "readonly" => (&mut mode, "readonly"),
            "snapshot" => (&mut mode, "snapshot"),
            "floppy" => (&mut kind, "floppy"),
            "hd" => (&mut kind, "hd"),
            _ if !std::path::Path::new(rest).exists() && !option.contains(['/', '.']) => {
                return Err(format!(
                    "unknown drive option \"{option}\"; options: {DRIVE_OPTIONS}"
                ))
            }
            _ => break,
        };
        if let Some(other) = slot.replace(value).filter(|o| *o != value) {
            return Err(format!(
                "a drive is {value} or {other}, not both (snapshot already keeps the file as it is; floppy and hd are its kind)"
            ));
        }
        rest = head;
    }
    drive.mode = match mode {
        Some("readonly") => vmm_bios::WriteMode::ReadOnly,
        Some(_) => vmm_bios::WriteMode::Snapshot,
        None => vmm_bios::WriteMode::Write,
    };
    drive.kind = kind.map(|k| match k {
        "floppy" => vmm_bios::DriveKind::Floppy,
        _ => vmm_bios::DriveKind::Hard,
    });
    if rest.is_empty() {
        return Err(format!(
            "expected FILE[,OPTION...]; options: {DRIVE_OPTIONS}"
        ));
    }
    drive.path = std::path::PathBuf::from(rest);
    Ok(drive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_drive_in_qemus_spelling_is_the_short_form() {
        assert_eq!(
            drive("file=disk.img,format=raw,if=floppy,readonly=on,media=disk"),
            drive("disk.img,readonly,floppy")
        );
    }

    #[test]
    fn test_drive_in_qemus_spelling_names_an_unknown_key() {
        assert!(drive("file=d.img,cache=none")
            .unwrap_err()
            .starts_with("unknown drive key \"cache\""));
    }

    #[test]
    fn test_drive_in_qemus_spelling_refuses_qcow2() {
        assert_eq!(
            drive("file=d.img,format=qcow2"),
            Err("format=qcow2: picovmm reads raw images only".into())
        );
    }

    #[test]
    fn test_parse_size_kib_with_space() {
        assert_eq!(parse_size("640 KiB"), Ok(640 * 1024));
    }

    #[test]
    fn test_parse_size_short_unit() {
        assert_eq!(parse_size("16M"), Ok(16 << 20));
    }

    #[test]
    fn test_parse_size_hex_bytes() {
        assert_eq!(parse_size("0x1000"), Ok(0x1000));
    }

    #[test]
    fn test_parse_size_unknown_unit_lists_forms() {
        assert_eq!(
            parse_size("3 parsecs"),
            Err(format!("invalid size \"3 parsecs\": expected {SIZE_FORMS}"))
        );
    }

    #[test]
    fn test_parse_size_overflow_is_rejected() {
        assert_eq!(
            parse_size("20000000000 GiB"),
            Err("size \"20000000000 GiB\" is larger than 2^64 bytes".to_owned())
        );
    }

    #[test]
    fn test_parse_u64_rejects_negative() {
        assert_eq!(parse_u64("-1"), None);
    }

    #[test]
    fn test_format_size_picks_largest_exact_unit() {
        assert_eq!(
            (
                format_size(0xA_0000),
                format_size(1 << 20),
                format_size(4097)
            ),
            (
                "640 KiB".to_owned(),
                "1 MiB".to_owned(),
                "4097 B".to_owned()
            )
        );
    }

    #[test]
    fn test_parse_duration_units() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn test_parse_duration_without_a_unit_asks_for_one() {
        assert_eq!(
            parse_duration("3"),
            Err(
                "invalid duration \"3\": give a unit, like 2s, 500ms or 1m (us, ms, s, m, h)"
                    .into()
            )
        );
    }

    #[test]
    fn test_parse_duration_zero_is_rejected_with_a_reason() {
        assert_eq!(
            parse_duration("0s"),
            Err("invalid duration \"0s\": a limit of 0 would stop the guest before its first instruction (leave the flag out for no limit)".into())
        );
    }
}
