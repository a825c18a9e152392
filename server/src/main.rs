//! `leofs`: parses flags and hands over to the library. Nothing else lives here.

use clap::Parser;

fn main() {
    let cli = leofs::cli::Cli::parse();
    if let Err(e) = leofs::run(cli) {
        eprintln!("leofs: {e}");
        std::process::exit(1);
    }
}
