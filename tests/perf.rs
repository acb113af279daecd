//! The perf tests: every scenario of every spec in `perf-specs/` is a test.
fn main() {
    perfspec::main()
}
