//! The Rust mirror in `abi.rs` and the C header agree on every size and offset: a C program
//! built from the header prints them, and each is compared with Rust's `offset_of!`. Needs a
//! C compiler (`cc`): without one the test skips, saying why, except under `CI=true`.

use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

use picovmm_plugin::abi::{self, Descriptor, EventsExt, Host, IrqExt, MachineExt, StateExt, Str};

const PROBE: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include "picovmm_plugin.h"
#define F(T, f) printf(#T "." #f " %zu\n", offsetof(T, f))
int main(void) {
    printf("picovmm_str %zu\n", sizeof(picovmm_str));
    printf("picovmm_host %zu\n", sizeof(picovmm_host));
    printf("picovmm_plugin_descriptor %zu\n", sizeof(picovmm_plugin_descriptor));
    F(picovmm_str, ptr); F(picovmm_str, len);
    F(picovmm_host, struct_size); F(picovmm_host, abi_major); F(picovmm_host, abi_minor);
    F(picovmm_host, ctx); F(picovmm_host, log); F(picovmm_host, read_guest);
    F(picovmm_host, write_guest); F(picovmm_host, request_stop); F(picovmm_host, get_extension);
    F(picovmm_plugin_descriptor, magic); F(picovmm_plugin_descriptor, struct_size);
    F(picovmm_plugin_descriptor, abi_major); F(picovmm_plugin_descriptor, abi_minor);
    F(picovmm_plugin_descriptor, accesses); F(picovmm_plugin_descriptor, name);
    F(picovmm_plugin_descriptor, version); F(picovmm_plugin_descriptor, description);
    F(picovmm_plugin_descriptor, create); F(picovmm_plugin_descriptor, destroy);
    F(picovmm_plugin_descriptor, reset); F(picovmm_plugin_descriptor, port_read);
    F(picovmm_plugin_descriptor, port_write); F(picovmm_plugin_descriptor, mmio_read);
    F(picovmm_plugin_descriptor, mmio_write); F(picovmm_plugin_descriptor, get_extension);
    printf("picovmm_irq_ext %zu\n", sizeof(picovmm_irq_ext));
    F(picovmm_irq_ext, struct_size); F(picovmm_irq_ext, line_count);
    F(picovmm_irq_ext, set_level); F(picovmm_irq_ext, pulse);
    printf("picovmm_events_ext %zu\n", sizeof(picovmm_events_ext));
    F(picovmm_events_ext, struct_size); F(picovmm_events_ext, watch_fd);
    F(picovmm_events_ext, add_timer); F(picovmm_events_ext, cancel);
    printf("picovmm_machine_ext %zu\n", sizeof(picovmm_machine_ext));
    F(picovmm_machine_ext, struct_size); F(picovmm_machine_ext, instance_name);
    F(picovmm_machine_ext, machine_dir); F(picovmm_machine_ext, config_int);
    F(picovmm_machine_ext, config_string); F(picovmm_machine_ext, config_bool);
    F(picovmm_machine_ext, config_table); F(picovmm_machine_ext, end_run);
    printf("picovmm_state_ext %zu\n", sizeof(picovmm_state_ext));
    F(picovmm_state_ext, struct_size); F(picovmm_state_ext, save); F(picovmm_state_ext, load);
    printf("%s %s %s %s\n", PICOVMM_EXT_IRQ, PICOVMM_EXT_EVENTS, PICOVMM_EXT_MACHINE,
           PICOVMM_EXT_STATE);
    printf("PICOVMM_END %u %u\n", PICOVMM_END_HALTED, PICOVMM_END_FAILURE);
    printf("PICOVMM_PLUGIN_MAGIC %u\n", PICOVMM_PLUGIN_MAGIC);
    printf("PICOVMM_PLUGIN_ABI_MAJOR %u\n", PICOVMM_PLUGIN_ABI_MAJOR);
    printf("PICOVMM_PLUGIN_ABI_MINOR %u\n", PICOVMM_PLUGIN_ABI_MINOR);
    return 0;
}
"#;

fn rust_layout() -> String {
    let lines = [
        ("picovmm_str", size_of::<Str>()),
        ("picovmm_host", size_of::<Host>()),
        ("picovmm_plugin_descriptor", size_of::<Descriptor>()),
        ("picovmm_str.ptr", offset_of!(Str, ptr)),
        ("picovmm_str.len", offset_of!(Str, len)),
        ("picovmm_host.struct_size", offset_of!(Host, struct_size)),
        ("picovmm_host.abi_major", offset_of!(Host, abi_major)),
        ("picovmm_host.abi_minor", offset_of!(Host, abi_minor)),
        ("picovmm_host.ctx", offset_of!(Host, ctx)),
        ("picovmm_host.log", offset_of!(Host, log)),
        ("picovmm_host.read_guest", offset_of!(Host, read_guest)),
        ("picovmm_host.write_guest", offset_of!(Host, write_guest)),
        ("picovmm_host.request_stop", offset_of!(Host, request_stop)),
        (
            "picovmm_host.get_extension",
            offset_of!(Host, get_extension),
        ),
        (
            "picovmm_plugin_descriptor.magic",
            offset_of!(Descriptor, magic),
        ),
        (
            "picovmm_plugin_descriptor.struct_size",
            offset_of!(Descriptor, struct_size),
        ),
        (
            "picovmm_plugin_descriptor.abi_major",
            offset_of!(Descriptor, abi_major),
        ),
        (
            "picovmm_plugin_descriptor.abi_minor",
            offset_of!(Descriptor, abi_minor),
        ),
        (
            "picovmm_plugin_descriptor.accesses",
            offset_of!(Descriptor, accesses),
        ),
        (
            "picovmm_plugin_descriptor.name",
            offset_of!(Descriptor, name),
        ),
        (
            "picovmm_plugin_descriptor.version",
            offset_of!(Descriptor, version),
        ),
        (
            "picovmm_plugin_descriptor.description",
            offset_of!(Descriptor, description),
        ),
        (
            "picovmm_plugin_descriptor.create",
            offset_of!(Descriptor, create),
        ),
        (
            "picovmm_plugin_descriptor.destroy",
            offset_of!(Descriptor, destroy),
        ),
        (
            "picovmm_plugin_descriptor.reset",
            offset_of!(Descriptor, reset),
        ),
        (
            "picovmm_plugin_descriptor.port_read",
            offset_of!(Descriptor, port_read),
        ),
        (
            "picovmm_plugin_descriptor.port_write",
            offset_of!(Descriptor, port_write),
        ),
        (
            "picovmm_plugin_descriptor.mmio_read",
            offset_of!(Descriptor, mmio_read),
        ),
        (
            "picovmm_plugin_descriptor.mmio_write",
            offset_of!(Descriptor, mmio_write),
        ),
        (
            "picovmm_plugin_descriptor.get_extension",
            offset_of!(Descriptor, get_extension),
        ),
    ];
    let ext = [
        ("picovmm_irq_ext", size_of::<IrqExt>()),
        (
            "picovmm_irq_ext.struct_size",
            offset_of!(IrqExt, struct_size),
        ),
        ("picovmm_irq_ext.line_count", offset_of!(IrqExt, line_count)),
        ("picovmm_irq_ext.set_level", offset_of!(IrqExt, set_level)),
        ("picovmm_irq_ext.pulse", offset_of!(IrqExt, pulse)),
        ("picovmm_events_ext", size_of::<EventsExt>()),
        (
            "picovmm_events_ext.struct_size",
            offset_of!(EventsExt, struct_size),
        ),
        (
            "picovmm_events_ext.watch_fd",
            offset_of!(EventsExt, watch_fd),
        ),
        (
            "picovmm_events_ext.add_timer",
            offset_of!(EventsExt, add_timer),
        ),
        ("picovmm_events_ext.cancel", offset_of!(EventsExt, cancel)),
        ("picovmm_machine_ext", size_of::<MachineExt>()),
        (
            "picovmm_machine_ext.struct_size",
            offset_of!(MachineExt, struct_size),
        ),
        (
            "picovmm_machine_ext.instance_name",
            offset_of!(MachineExt, instance_name),
        ),
        (
            "picovmm_machine_ext.machine_dir",
            offset_of!(MachineExt, machine_dir),
        ),
        (
            "picovmm_machine_ext.config_int",
            offset_of!(MachineExt, config_int),
        ),
        (
            "picovmm_machine_ext.config_string",
            offset_of!(MachineExt, config_string),
        ),
        (
            "picovmm_machine_ext.config_bool",
            offset_of!(MachineExt, config_bool),
        ),
        (
            "picovmm_machine_ext.config_table",
            offset_of!(MachineExt, config_table),
        ),
        (
            "picovmm_machine_ext.end_run",
            offset_of!(MachineExt, end_run),
        ),
        ("picovmm_state_ext", size_of::<StateExt>()),
        (
            "picovmm_state_ext.struct_size",
            offset_of!(StateExt, struct_size),
        ),
        ("picovmm_state_ext.save", offset_of!(StateExt, save)),
        ("picovmm_state_ext.load", offset_of!(StateExt, load)),
    ];
    let ids = [
        abi::EXT_IRQ,
        abi::EXT_EVENTS,
        abi::EXT_MACHINE,
        abi::EXT_STATE,
    ]
    .map(|id| String::from_utf8_lossy(id).into_owned())
    .join(" ");
    let tail = [
        ("PICOVMM_PLUGIN_MAGIC", picovmm_plugin::abi::MAGIC as usize),
        (
            "PICOVMM_PLUGIN_ABI_MAJOR",
            usize::from(picovmm_plugin::abi::ABI_MAJOR),
        ),
        (
            "PICOVMM_PLUGIN_ABI_MINOR",
            usize::from(picovmm_plugin::abi::ABI_MINOR),
        ),
    ];
    let line = |(name, value): &(&str, usize)| format!("{name} {value}\n");
    let mut out: String = lines.iter().map(line).collect();
    out.extend(ext.iter().map(line));
    out.push_str(&format!("{ids}\n"));
    out.push_str(&format!(
        "PICOVMM_END {} {}\n",
        abi::END_HALTED,
        abi::END_FAILURE
    ));
    out.extend(tail.iter().map(line));
    out
}

fn cc_available() -> bool {
    match Command::new("cc").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and no C compiler (cc)")
        }
        _ => {
            eprintln!("skipping: no C compiler (cc) to build the header probe");
            false
        }
    }
}

#[test]
fn test_c_header_layout_matches_rust_definitions() {
    if !cc_available() {
        return;
    }
    let dir = tempfile_dir();
    let source = dir.join("probe.c");
    let binary = dir.join("probe");
    std::fs::write(&source, PROBE).expect("write probe");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("run cc");
    assert!(status.success(), "the header does not compile");
    let out = Command::new(&binary).output().expect("run probe");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(String::from_utf8_lossy(&out.stdout), rust_layout());
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("picovmm-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
