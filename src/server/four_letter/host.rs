//! Words about the host: `envi` (`Environment.list()`), `dirs` (the size of
//! the snapshot and log directories), and the file-descriptor gauges of `mntr`.
//! Read from `/proc` and the environment; the JVM-only keys of `envi`
//! (java.*, os.memory.*) have no counterpart and are left out.

use std::path::Path;

use crate::server::Shared;

/// The bytes of the regular files directly in `dir` (`ZooKeeperServer.getDirSize`
/// recurses, but the version-2 directories hold no subdirectories).
fn dir_size(dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(dir)
}

/// (snapshot dir, log dir) sizes in bytes: `dirs`, `conf` and the
/// AdminServer's `stats` report them.
pub fn dir_sizes(shared: &Shared) -> (u64, u64) {
    let (snap_dir, log_dir) = super::version_dirs(shared);
    (dir_size(&snap_dir), dir_size(&log_dir))
}

/// `DirsCommand`.
pub fn dirs(shared: &Shared) -> String {
    let (data, log) = dir_sizes(shared);
    format!("datadir_size: {data}\nlogdir_size: {log}\n")
}

fn proc_text(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// (open, max) file descriptors of this process, as the JVM's
/// `UnixOperatingSystemMXBean` reports them; 0 where `/proc` has no answer.
pub fn file_descriptors() -> (u64, u64) {
    let open = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l["Max open files".len()..].split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    (open, max)
}

/// The effective user's (name, home) from `/etc/passwd`, else `$USER`/`$HOME`.
fn user() -> (String, String) {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let euid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        });
    let entry = euid.and_then(|uid| {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2] == uid).then(|| (f[0].to_owned(), f[5].to_owned()))
        })
    });
    entry.unwrap_or_else(|| (env("USER"), env("HOME")))
}

/// Java's `os.arch` names for Rust's target architectures.
fn java_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
}

/// `EnvCommand`.
pub fn envi() -> String {
    let mut s = String::from("Environment:\n");
    for (k, v) in environment() {
        s.push_str(k);
        s.push('=');
        s.push_str(&v);
        s.push('\n');
    }
    s
}

/// `Environment.list()`'s entries that have a counterpart outside the JVM.
pub fn environment() -> Vec<(&'static str, String)> {
    let (user_name, user_home) = user();
    let os_name = proc_text("/proc/sys/kernel/ostype").unwrap_or_else(|| {
        let os = std::env::consts::OS;
        let mut c = os.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    });
    let entries = [
        ("zookeeper.version", super::full_version()),
        (
            "host.name",
            proc_text("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into()),
        ),
        ("os.name", os_name),
        ("os.arch", java_arch().into()),
        (
            "os.version",
            proc_text("/proc/sys/kernel/osrelease").unwrap_or_default(),
        ),
        ("user.name", user_name),
        ("user.home", user_home),
        (
            "user.dir",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        ),
    ];
    entries.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_the_keys_tools_read() {
        let text = envi();
        assert!(text.starts_with("Environment:\n"));
        for key in [
            "zookeeper.version=",
            "host.name=",
            "os.name=",
            "os.arch=",
            "user.dir=",
        ] {
            assert!(text.contains(key), "{key} missing in {text}");
        }
    }

    #[test]
    fn file_descriptors_are_counted() {
        let (open, max) = file_descriptors();
        if Path::new("/proc/self/fd").exists() {
            assert!(open > 0 && max >= open, "{open} {max}");
        }
    }
}
