fn main() {
    perfspec::main()
}
