//! The committed guest binaries are what their NASM sources assemble to. Needs nasm: without it
//! the test skips, saying why, except under `CI=true` (CI installs nasm), where it fails.

mod common;

use std::process::Command;

use common::repo_root;

fn nasm_available() -> bool {
    match Command::new("nasm").arg("-v").output() {
        Ok(out) if out.status.success() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and nasm is not installed")
        }
        _ => {
            eprintln!("skipping: nasm is not installed (apt-get install nasm)");
            false
        }
    }
}

/// Assembles `guests/<name>.asm` and compares it with the committed `guests/<name>.bin`.
fn assert_assembles_to_committed_binary(name: &str) {
    if !nasm_available() {
        return;
    }
    let root = repo_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("guest.bin");
    let status = Command::new("nasm")
        .args(["-f", "bin", "-I"])
        .arg(root.join("guests/include/"))
        .arg("-I")
        .arg(root.join("guests/"))
        .arg("-o")
        .arg(&out)
        .arg(root.join(format!("guests/{name}.asm")))
        .status()
        .expect("run nasm");
    assert!(status.success(), "nasm failed on guests/{name}.asm");
    let built = std::fs::read(&out).expect("assembled binary");
    let committed =
        std::fs::read(root.join(format!("guests/{name}.bin"))).expect("committed binary");
    assert!(
        built == committed,
        "guests/{name}.bin differs from its source; reassemble it"
    );
}

macro_rules! guest_source_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            #[cfg_attr(picovmm_missing = "nasm", ignore = "needs nasm")]
            fn $test() {
                assert_assembles_to_committed_binary($name);
            }
        )*
        /// Every guest source in the tree has a test above.
        #[test]
        fn test_every_guest_source_is_checked() {
            let listed = [$($name),*];
            let mut found = Vec::new();
            let guests = repo_root().join("guests");
            let mut dirs: Vec<String> = std::fs::read_dir(&guests)
                .expect("guests dir")
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir() && e.file_name() != "include")
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            dirs.sort();
            for dir in dirs {
                for entry in std::fs::read_dir(guests.join(&dir)).expect("guests dir") {
                    let path = entry.expect("entry").path();
                    if path.extension().is_some_and(|x| x == "asm") {
                        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                        found.push(format!("{dir}/{stem}"));
                    }
                }
            }
            found.sort();
            let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
            listed.sort();
            assert_eq!(found, listed);
        }
    };
}

guest_source_tests! {
    test_hello_binary_matches_source => "hello/hello",
    test_protected_binary_matches_source => "modes/protected",
    test_long_binary_matches_source => "modes/long",
    test_elf32_binary_matches_source => "modes/elf32",
    test_multiboot_binary_matches_source => "modes/multiboot",
    test_hello_exit_binary_matches_source => "bench/hello-exit",
    test_port_loop_binary_matches_source => "bench/port-loop",
    test_seed_binary_matches_source => "seed/seed-boot",
    test_rtc_binary_matches_source => "plugins/rtc",
    test_console_binary_matches_source => "plugins/console",
    test_dma_binary_matches_source => "plugins/dma",
    test_dma_bad_register_binary_matches_source => "plugins/dma-bad-register",
    test_latch_binary_matches_source => "plugins/latch",
    test_mmio_latch_binary_matches_source => "plugins/mmio-latch",
    test_debugcon_binary_matches_source => "tests/debugcon",
    test_emulation_failure_binary_matches_source => "hostile/emulation-failure",
    test_exit_code_binary_matches_source => "tests/exit-code",
    test_serial_echo_binary_matches_source => "tests/serial-echo",
    test_spin_binary_matches_source => "hostile/spin",
    test_far_jump_binary_matches_source => "hostile/far-jump",
    test_bios_sweep_binary_matches_source => "hostile/bios-sweep",
    test_port_sweep_binary_matches_source => "hostile/port-sweep",
    test_mmio_sweep_binary_matches_source => "hostile/mmio-sweep",
    test_debugcon_flood_binary_matches_source => "hostile/debugcon-flood",
    test_triple_fault_binary_matches_source => "hostile/triple-fault",
    test_vga_window_binary_matches_source => "hostile/vga-window",
    test_long_by_hand_binary_matches_source => "cpu/long-by-hand",
    test_cpu_protected_binary_matches_source => "cpu/protected",
    test_handover_binary_matches_source => "cpu/handover",
    test_x87_real_binary_matches_source => "cpu/x87-real",
    test_tsc_binary_matches_source => "cpu/tsc",
    test_v86_bios_binary_matches_source => "cpu/v86-bios",
    test_x87_protected_binary_matches_source => "cpu/x87-protected",
    test_tinyos_boot_binary_matches_source => "kernel/boot",
    test_pm_loop_binary_matches_source => "bench/pm-loop",
    test_paging_loop_binary_matches_source => "bench/paging-loop",
    test_cpuid_binary_matches_source => "cpu/cpuid",
    test_answer_binary_matches_source => "cpu/answer",
    test_string_io_binary_matches_source => "tests/string-io",
    test_pit_1khz_binary_matches_source => "irq/pit-1khz",
    test_pit_100hz_binary_matches_source => "irq/pit-100hz",
    test_pit_counter_binary_matches_source => "irq/pit-counter",
    test_pic_mask_binary_matches_source => "irq/pic-mask",
    test_serial_irq_binary_matches_source => "irq/serial-irq",
    test_keyboard_irq_binary_matches_source => "irq/keyboard-irq",
    test_keyboard_poll_binary_matches_source => "irq/keyboard-poll",
    test_masked_halt_binary_matches_source => "irq/masked-halt",
    test_reset_binary_matches_source => "irq/reset",
    test_storm_binary_matches_source => "irq/storm",
    test_pm_ticks_binary_matches_source => "irq/pm-ticks",
    test_lm_ticks_binary_matches_source => "irq/lm-ticks",
    test_irq_latency_binary_matches_source => "bench/irq-latency",
    test_mips_loop_binary_matches_source => "bench/mips-loop",
    test_sieve_binary_matches_source => "bench/sieve",
    test_segments_binary_matches_source => "debug/segments",
    test_stepping_binary_matches_source => "debug/stepping",
    test_idt_limit_binary_matches_source => "hostile/idt-limit",
    test_rom_write_binary_matches_source => "hostile/rom-write",
    test_int13_bounds_binary_matches_source => "hostile/int13-bounds",
    test_long_loop_binary_matches_source => "snapshot/long-loop",
    test_bios_hello_binary_matches_source => "bench/bios-hello",
    test_teletype_loop_binary_matches_source => "bench/teletype-loop",
    test_screen_writer_binary_matches_source => "bench/screen-writer",
    test_bios_teletype_binary_matches_source => "bios/teletype",
    test_bios_repl_binary_matches_source => "bios/repl",
    test_bios_disk_binary_matches_source => "bios/disk",
    test_bios_mode13_binary_matches_source => "bios/mode13",
    test_bios_ticks_binary_matches_source => "bios/ticks",
    test_control_panel => "control/panel",
    test_games_walk => "games/walk",
    test_bios_reboot => "bios/reboot",
    test_display_forty => "display/forty",
    test_bios_mouse => "bios/mouse",
    test_bios_cmos => "bios/cmos",
    test_bios_a20 => "bios/a20",
    test_bios_planar => "bios/planar",
    test_bios_planar10 => "bios/planar10",
    test_bios_cga => "bios/cga",
    test_bios_vbe => "bios/vbe",
    test_bios_lines => "bios/lines",
    test_display_planar_live => "display/planar-live",
    test_bench_vga_fill => "bench/vga-fill",
    test_bench_vga_fill13 => "bench/vga-fill13",
    test_bench_a20_toggle => "bench/a20-toggle",
    test_bench_floppy_read => "bench/floppy-read",
    test_bios_tutorial_binary_matches_source => "bios/tutorial",
    test_bios_instructions_binary_matches_source => "bios/instructions",
    test_display_colours_binary_matches_source => "display/colours",
    test_display_palette_binary_matches_source => "display/palette",
}

/// The BIOS ROM committed in vmm-bios is what its source assembles to.
#[test]
#[cfg_attr(picovmm_missing = "nasm", ignore = "needs nasm")]
fn test_bios_rom_matches_source() {
    if !nasm_available() {
        return;
    }
    let root = repo_root();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bios.bin");
    let status = Command::new("nasm")
        .args(["-f", "bin", "-o"])
        .arg(&out)
        .arg(root.join("crates/vmm-bios/rom/bios.asm"))
        .status()
        .expect("run nasm");
    assert!(status.success(), "nasm failed on the BIOS ROM");
    let built = std::fs::read(&out).expect("assembled ROM");
    let committed = std::fs::read(root.join("crates/vmm-bios/rom/bios.bin")).expect("ROM");
    assert!(
        built == committed,
        "crates/vmm-bios/rom/bios.bin differs from its source; reassemble it"
    );
}
