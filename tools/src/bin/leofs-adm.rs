//! `leofs-adm`: parses the command line and hands over to [`leofs_tools::run`].
//! Exit status: 0 on success, 1 on any error (usage errors included).

use clap::Parser;

fn main() {
    let cli = match leofs_tools::Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors: clap prints them and exits 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let _ = e.print();
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    if let Err(e) = leofs_tools::run(&cli, &mut stdout.lock()) {
        // `leofs-adm ... | head`: the reader has all it wanted.
        if !e.is_broken_pipe() {
            eprintln!("leofs-adm: error: {e}");
        }
        std::process::exit(1);
    }
}
