//! Pictures of the screen as PNG files (the `png` crate): the same screen always gives the
//! same bytes.

use std::io::Write;

use crate::frame::Frame;
use crate::render::Image;

impl Frame {
    /// The frame as a PNG file's bytes.
    pub fn png(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Encoding into a Vec cannot fail for want of room; an encoder error would be a bug.
        let _ = write_png(&self.image(), &mut bytes);
        bytes
    }
}

/// Encodes `image` as an 8-bit RGB PNG into `out`.
pub fn write_png(image: &Image, out: impl Write) -> Result<(), png::EncodingError> {
    let mut encoder = png::Encoder::new(out, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image.rgb)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_png_round_trips_and_is_deterministic() {
        let image = Image {
            width: 2,
            height: 1,
            rgb: vec![255, 0, 0, 0, 0, 255],
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_png(&image, &mut a).expect("encode");
        write_png(&image, &mut b).expect("encode");
        assert_eq!(a, b);
        let decoder = png::Decoder::new(std::io::Cursor::new(&a));
        let mut reader = decoder.read_info().expect("header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut pixels).expect("frame");
        assert_eq!(pixels, image.rgb);
    }
}
