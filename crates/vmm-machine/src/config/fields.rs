//! The typed fields of a machine file's tables, read with their places: the helpers every
//! table's reader (the config's and each device type's) shares.

use toml::Spanned;
use vmm_devices::pic;

use super::schema::{DeviceTable, Irqs, Unsigned};
use crate::diagnostic::Diagnostic;
use crate::named::Named;
use crate::spec::{Located, Origin};

pub(crate) fn located<T>(value: T, span: std::ops::Range<usize>) -> Located<T> {
    Located {
        value,
        origin: Origin::File(span),
    }
}

pub(crate) fn at<T>(spanned: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Origin::File(spanned.span()), message)
}

/// Interrupt lines of the PIC pair: 0-15, but not 2, where the slave is cascaded; no line twice.
pub(crate) fn irqs(value: &Spanned<Irqs>) -> Result<Vec<u8>, Diagnostic> {
    let mut lines = Vec::new();
    for &n in &value.get_ref().0 {
        match u8::try_from(n) {
            Ok(n) if n < pic::LINES && n != pic::CASCADE_IRQ && !lines.contains(&n) => {
                lines.push(n)
            }
            Ok(n) if lines.contains(&n) => {
                return Err(at(value, format!("irq {n} is listed twice")))
            }
            _ => {
                return Err(at(
                    value,
                    format!(
                        "irq {n} is not a line a device can use: 0-15, but not 2 (the cascade)"
                    ),
                ))
            }
        }
    }
    Ok(lines)
}

/// One interrupt line (a serial port's).
pub(crate) fn irq(value: &Spanned<Irqs>) -> Result<u8, Diagnostic> {
    match irqs(value)?[..] {
        [n] => Ok(n),
        _ => Err(at(value, "a serial port has one interrupt line: irq = N")),
    }
}

pub(crate) fn port(value: &Spanned<Unsigned>) -> Result<u16, Diagnostic> {
    let raw = value.get_ref().0;
    u16::try_from(raw).map_err(|_| {
        at(
            value,
            format!("port {raw:#x} is past the last port, 0xffff"),
        )
    })
}

/// Rejects the keys of `d` that a device of type `kind` does not take. Not serde's
/// `deny_unknown_fields` on a `#[serde(tag = "type")]` enum: serde buffers a tagged enum's
/// content before choosing the variant, and toml's `Spanned` values lose their spans on the
/// way, so every per-type error would lose its `file:line:column`. The flat table keeps them.
pub(crate) fn only_keys(d: &DeviceTable, kind: &str, allowed: &[&str]) -> Result<(), Diagnostic> {
    let present: [(&str, Option<std::ops::Range<usize>>); 10] = [
        ("irq", d.irq.as_ref().map(Spanned::span)),
        ("keys", d.keys.as_ref().map(Spanned::span)),
        ("output", d.output.as_ref().map(Spanned::span)),
        ("mmio", d.mmio.as_ref().map(Spanned::span)),
        ("port", d.port.as_ref().map(Spanned::span)),
        ("mode", d.mode.as_ref().map(Spanned::span)),
        ("library", d.library.as_ref().map(Spanned::span)),
        ("ports", d.ports.as_ref().map(Spanned::span)),
        ("size", d.size.as_ref().map(Spanned::span)),
        ("config", d.config.as_ref().map(Spanned::span)),
    ];
    match present
        .into_iter()
        .find(|(key, span)| span.is_some() && !allowed.contains(key))
    {
        Some((key, Some(span))) => Err(Diagnostic::new(
            Origin::File(span),
            format!(
                "key `{key}` does not apply to a {kind} device; it takes: {}",
                allowed.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// The `T` a string value names, or an error listing the names `T` has.
pub(crate) fn named<T: Named>(value: &Spanned<String>, what: &str) -> Result<T, Diagnostic> {
    let name = value.get_ref();
    crate::named::from_name(name).ok_or_else(|| {
        at(
            value,
            format!(
                "unknown {what} \"{name}\"; allowed: {}",
                crate::named::allowed::<T>()
            ),
        )
    })
}
