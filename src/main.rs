//! `ferrokeeper [zoo.cfg]`: runs a standalone server, from a config file or
//! with embedded defaults (client port 2181, data in ./data).

use std::path::Path;
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
    // zkServer.sh hands ZooKeeper's JVM these; system properties come from them.
    let jvm_flags: Vec<String> = ["SERVER_JVMFLAGS", "JVMFLAGS"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    let jvm_flags = jvm_flags.join(" ");
    let loaded = match args.as_slice() {
        [] => Config::parse_with_flags(Path::new("(embedded defaults)"), "", &jvm_flags),
        [path] if !path.starts_with('-') => Config::load(Path::new(path), &jvm_flags),
        _ => {
            eprintln!("usage: ferrokeeper [zoo.cfg]");
            return ExitCode::from(2);
        }
    };
    let config = match loaded {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("Invalid config, exiting abnormally: {e}");
            return ExitCode::from(2);
        }
    };
    for (k, v) in &config.unknown {
        tracing::info!("config key {k}={v} is not used by ferrokeeper");
    }
    let system = actix::System::new();
    let started = system.block_on(standalone::start(config));
    match started {
        Ok(addr) => {
            tracing::info!("ferrokeeper serving clients on {addr}");
            disable_transparent_huge_pages();
        }
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

/// Turns transparent huge pages off for the rest of this process's life,
/// once recovery is done (loading a million nodes into huge pages is about a
/// third faster). mimalloc asks for them (`MADV_HUGEPAGE`), and then the
/// first touch of fresh heap zeroes 2 MiB at once, on whichever thread
/// allocates: a growing tree (ephemeral sequential creates) stalled the event
/// loop for milliseconds at a time, 1 request in 100 (docs/PERFORMANCE.md has
/// the A/B figures). Pages already huge stay so.
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        tracing::warn!(
            "could not turn off transparent huge pages: {}",
            std::io::Error::last_os_error()
        );
    }
}
