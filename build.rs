//! Records the optimisation level perfspec is compiled with: baselines and reports say it,
//! because an unoptimised generator measures itself.
fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=PERFSPEC_OPT_LEVEL={level}");
    println!("cargo:rerun-if-changed=build.rs");
}
