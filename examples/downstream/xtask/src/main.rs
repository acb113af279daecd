fn main() -> std::process::ExitCode {
    perfspec::commands::main()
}
