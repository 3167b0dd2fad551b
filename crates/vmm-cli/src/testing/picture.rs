//! `picture` steps: the screen against a golden PNG, pixel by pixel, with a tolerance; or, with
//! `--update-goldens`, the golden rewritten from the screen.

use std::path::Path;

use super::machine::Running;
use super::model::Region;
use super::view::relative;

/// An image as RGB rows.
struct Pixels {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Result<Pixels, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or("the picture is too large")?
    ];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|px| match px.len() {
            1 | 2 => [px[0], px[0], px[0]],
            _ => [px[0], px[1], px[2]],
        })
        .collect();
    Ok(Pixels {
        width: info.width,
        height: info.height,
        rgb,
    })
}

/// Compares the screen with `golden` (or writes it): at most `tolerance` pixels of `region`
/// (the whole picture without one) may differ.
pub fn check(
    vm: &Running,
    golden: &Path,
    (tolerance, region): (u64, Option<Region>),
    update: bool,
) -> Result<(), String> {
    let frame = vm.handle.capture().ok_or("this machine has no screen")?;
    let png = frame.png();
    if update {
        return std::fs::write(golden, &png)
            .map_err(|e| format!("cannot write {}: {e}", relative(golden)));
    }
    let wanted = std::fs::read(golden).map_err(|e| {
        format!(
            "cannot read the golden picture {}: {e} (write it with --update-goldens)",
            relative(golden)
        )
    })?;
    let wanted = decode(&wanted).map_err(|e| format!("{}: {e}", relative(golden)))?;
    let shown = decode(&png)?;
    if (wanted.width, wanted.height) != (shown.width, shown.height) {
        return Err(format!(
            "the screen is {}x{}, the golden picture {} is {}x{}",
            shown.width,
            shown.height,
            relative(golden),
            wanted.width,
            wanted.height
        ));
    }
    let width = wanted.width as usize;
    let inside = |i: usize| {
        let (x, y) = (i % width, i / width);
        region.is_none_or(|r| (r.left..=r.right).contains(&x) && (r.top..=r.bottom).contains(&y))
    };
    let differing = wanted
        .rgb
        .chunks(3)
        .zip(shown.rgb.chunks(3))
        .enumerate()
        .filter(|(i, (a, b))| inside(*i) && a != b)
        .count() as u64;
    if differing > tolerance {
        return Err(format!(
            "{differing} pixels differ from {} (tolerance {tolerance}); the screen's picture is in the artifacts",
            relative(golden)
        ));
    }
    Ok(())
}
