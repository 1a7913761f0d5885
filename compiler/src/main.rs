//! The `acepack` binary: parses the command line, runs a subcommand, renders errors once, and
//! picks the exit status (0 success, 1 invalid input or breaking change, 2 usage or I/O error).

mod cli;

fn main() {
    std::process::exit(cli::run(std::env::args_os()));
}
