//! Records how perfspec is compiled (optimisation level, cargo profile): baselines, results and
//! a run-time warning say it, because an unoptimised generator measures itself.
fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=PERFSPEC_OPT_LEVEL={level}");
    // `debug` or `release` (cargo gives build scripts only the profile a custom one inherits).
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=PERFSPEC_PROFILE_NAME={profile}");
    println!("cargo:rerun-if-changed=build.rs");
}
