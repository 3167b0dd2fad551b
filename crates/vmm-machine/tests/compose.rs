//! The composition example runs and says what it should: a machine built in Rust, no TOML.

#[path = "../examples/compose.rs"]
mod compose;

/// Whether `/dev/kvm` can be used; under `CI=true` it must be.
fn kvm_available() -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true and /dev/kvm is unusable: {e}")
        }
        Err(e) => {
            eprintln!("skipping: this test boots a guest and /dev/kvm is unusable here ({e})");
            false
        }
    }
}

#[test]
#[cfg_attr(picovmm_missing = "kvm", ignore = "needs a usable /dev/kvm")]
fn test_compose_example_runs_the_machine_it_builds() {
    if !kvm_available() {
        return;
    }
    let printed = compose::compose_and_run().expect("the example runs");
    assert_eq!(
        printed,
        "outcome: GuestExit(16)\ndebug console: hi\nscreen: OK\n"
    );
}
