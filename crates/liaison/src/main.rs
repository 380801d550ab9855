//! `liaison`: the one binary. Parses configuration, opens the database, and runs a subcommand;
//! all logic lives in the library crates.

mod cli;

use clap::Parser;

/// mimalloc instead of glibc malloc: with glibc, each of the server's threads (tokio workers and
/// one per SQLite connection) keeps its own arena, and after large sorts and full-text doclists
/// the server held 300–360 MB (docs/benchmarks.md); mimalloc hands freed pages back. Its
/// `override` feature makes it the process's `malloc` as well, which the embedded SQLite uses for
/// its own allocations: glibc's `malloc` and `free` were a tenth of the server's CPU under
/// the inbox load, and with mimalloc the same loads served 11-20 % more requests in most
/// alternating runs (docs/benchmarks.md, ninth pass).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(&args.config.log);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
