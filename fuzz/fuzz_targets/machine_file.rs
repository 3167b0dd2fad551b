//! The machine-file loader: any bytes, parsed, laid out and rendered as a diagnostic, must give
//! a machine description or an error, never a panic. (No file is read: paths stay unresolved.)
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vmm_machine::config;
use vmm_machine::spec::SourceFile;
use vmm_machine::validate::check_layout;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile {
        path: "fuzz.toml".into(),
        text: text.clone().into_owned(),
    };
    match config::parse(&text, Path::new("machines")) {
        Ok(spec) => {
            if let Err(d) = check_layout(&spec) {
                let _ = d.render(Some(&source));
            }
        }
        Err(d) => {
            let _ = d.render(Some(&source));
        }
    }
});
