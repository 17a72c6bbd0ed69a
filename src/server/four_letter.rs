//! Four-letter words (`ruok`, `srvr`, `stat`, `isro`, `conf`): plain-text
//! commands sent in place of a ConnectRequest, answered and then closed.
//! Only words in `4lw.commands.whitelist` run, as in ZooKeeper.

use crate::server::Shared;

const WORDS: &[&str] = &[
    "ruok", "srvr", "stat", "isro", "conf", "envi", "cons", "crst", "dump", "mntr", "srst", "wchc",
    "wchp", "wchs", "dirs", "gtmk", "stmk",
];

/// The word a frame length spells, when it is one ZooKeeper knows.
pub fn word_of(len: u32) -> Option<&'static str> {
    let bytes = len.to_be_bytes();
    WORDS.iter().copied().find(|w| w.as_bytes() == bytes)
}

/// The text answer to `word`.
pub fn answer(word: &str, shared: &Shared) -> String {
    if !shared.config.allows_four_letter_word(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    let (zxid, nodes) = {
        let tree = shared.tree.read().expect("tree lock");
        (tree.last_processed_zxid(), tree.node_count())
    };
    let cfg = &shared.config;
    match word {
        "ruok" => "imok".into(),
        "isro" => "rw".into(),
        "srvr" | "stat" => format!(
            "Zookeeper version: ferrokeeper-{}\nLatency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: {}\nOutstanding: 0\nZxid: 0x{:x}\nMode: standalone\nNode count: {}\n",
            env!("CARGO_PKG_VERSION"),
            shared.connection_count(),
            zxid,
            nodes
        ),
        "conf" => format!(
            "clientPort={}\nclientPortAddress={}\ndataDir={}\ndataLogDir={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\nserverId=0\n",
            cfg.client_port,
            cfg.client_port_address,
            cfg.data_dir.display(),
            cfg.data_log_dir.display(),
            cfg.tick_time_ms,
            cfg.max_client_cnxns,
            cfg.min_session_timeout_ms,
            cfg.max_session_timeout_ms
        ),
        _ => format!("{word} is not supported by ferrokeeper yet.\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_spell_words() {
        assert_eq!(word_of(u32::from_be_bytes(*b"ruok")), Some("ruok"));
        assert_eq!(word_of(u32::from_be_bytes(*b"abcd")), None);
    }
}
