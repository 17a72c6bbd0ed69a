//! Test stores, made fresh by `openssl` (and `keytool`) in a test's
//! directory.

use std::path::Path;
use std::process::Command;

/// Runs a tool in `dir`; a failure fails the test with its output.
pub fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
}

/// `<name>.key` (PKCS#8, P-256) and `<name>.pem`, a self-signed
/// certificate for `/CN=<name>`.
pub fn self_signed(dir: &Path, name: &str) {
    let (subject, key, cert) = (
        format!("/CN={name}"),
        format!("{name}.key"),
        format!("{name}.pem"),
    );
    let args = [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        &subject,
        "-keyout",
        &key,
        "-out",
        &cert,
    ];
    run("openssl", &args, dir);
}

/// `<name>-store.pem`: the key and certificate of [`self_signed`] in one file.
pub fn pem_store(dir: &Path, name: &str) {
    let read = |file: String| std::fs::read_to_string(dir.join(file)).unwrap();
    let text = read(format!("{name}.key")) + &read(format!("{name}.pem"));
    std::fs::write(dir.join(format!("{name}-store.pem")), text).unwrap();
}

/// [`run`] for a command line split at whitespace.
pub fn sh(dir: &Path, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    run(words[0], &words[1..], dir);
}
