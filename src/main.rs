fn main() -> std::process::ExitCode {
    ttc::cli::main()
}
