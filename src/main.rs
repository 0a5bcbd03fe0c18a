fn main() {
    eprintln!("inventree-harness: no subcommands yet");
    std::process::exit(2);
}
