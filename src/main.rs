//! `ferrokeeper [zoo.cfg]`: runs a standalone server, from a config file or
//! with embedded defaults (client port 2181, data in ./data).

use std::path::PathBuf;
use std::process::ExitCode;

use ferrokeeper::config::Config;
use ferrokeeper::server::standalone;

/// mimalloc instead of glibc malloc: allocation was a sixth of the event loop's
/// time, and the log threads free what the event loop allocates
/// (docs/PERFORMANCE.md has the A/B figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.as_slice() {
        [] => Config::default(),
        [path] if !path.starts_with('-') => match Config::load(&PathBuf::from(path)) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("Invalid config, exiting abnormally: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: ferrokeeper [zoo.cfg]");
            return ExitCode::from(2);
        }
    };
    for (k, v) in &config.unknown {
        tracing::info!("config key {k}={v} is not used by ferrokeeper");
    }
    let system = actix::System::new();
    let started = system.block_on(standalone::start(config));
    match started {
        Ok(addr) => tracing::info!("ferrokeeper serving clients on {addr}"),
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(1);
        }
    }
    match system.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server stopped: {e}");
            ExitCode::from(1)
        }
    }
}
