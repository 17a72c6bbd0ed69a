//! JAAS login configuration files, the file
//! `-Djava.security.auth.login.config` names, as Java's `ConfigFile` reads
//! them:
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! A section is a name and, in braces, login modules: a class, a flag
//! (`required`, `requisite`, `sufficient`, `optional`) and `key=value`
//! options, each module ended by `;`, the section by `};`. Values are
//! words or double-quoted strings (`\` escapes the next character);
//! `//`, `/* */` and `#` comments are skipped.

/// One login module of a section.
#[derive(Debug, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    pub options: Vec<(String, String)>,
}

/// The sections of a file, in order, each with its modules.
pub type Sections = Vec<(String, Vec<LoginModule>)>;

/// The file's sections, or what is wrong and where (a line number).
pub fn parse(text: &str) -> Result<Sections, String> {
    let tokens = tokens(text)?;
    let mut it = tokens.into_iter().peekable();
    let mut sections = Vec::new();
    while let Some((line, name)) = it.next() {
        let Token::Word(name) = name else {
            return Err(format!("line {line}: expected a section name"));
        };
        expect(&mut it, Token::Open, "{")?;
        let mut modules = Vec::new();
        loop {
            match it.next() {
                Some((_, Token::Close)) => break,
                Some((_, Token::Word(class))) => {
                    let (line, flag) = it.next().ok_or("unexpected end of file")?;
                    match flag {
                        Token::Word(f)
                            if ["required", "requisite", "sufficient", "optional"]
                                .contains(&f.to_ascii_lowercase().as_str()) => {}
                        _ => return Err(format!("line {line}: expected the flag of {class}")),
                    }
                    let mut options = Vec::new();
                    loop {
                        match it.next() {
                            Some((_, Token::Semicolon)) => break,
                            Some((line, Token::Word(key))) => {
                                expect(&mut it, Token::Equals, "=")?;
                                match it.next() {
                                    Some((_, Token::Word(v) | Token::Quoted(v))) => {
                                        options.push((key, v))
                                    }
                                    _ => return Err(format!("line {line}: {key} has no value")),
                                }
                            }
                            Some((line, _)) => {
                                return Err(format!("line {line}: expected an option or ';'"))
                            }
                            None => return Err("unexpected end of file".into()),
                        }
                    }
                    modules.push(LoginModule { class, options });
                }
                Some((line, _)) => {
                    return Err(format!("line {line}: expected a login module or '}}'"))
                }
                None => return Err(format!("section {name} is not closed")),
            }
        }
        expect(&mut it, Token::Semicolon, ";")?;
        sections.push((name, modules));
    }
    Ok(sections)
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Semicolon,
    Equals,
}

fn expect(
    it: &mut impl Iterator<Item = (usize, Token)>,
    want: Token,
    shown: &str,
) -> Result<(), String> {
    match it.next() {
        Some((_, t)) if t == want => Ok(()),
        Some((line, _)) => Err(format!("line {line}: expected '{shown}'")),
        None => Err(format!("unexpected end of file: expected '{shown}'")),
    }
}

/// The tokens, each with its line number.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '{' => out.push((line, Token::Open)),
            '}' => out.push((line, Token::Close)),
            ';' => out.push((line, Token::Semicolon)),
            '=' => out.push((line, Token::Equals)),
            '#' => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                loop {
                    match chars.next() {
                        Some('/') if last == '*' => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            last = c;
                        }
                        None => return Err(format!("line {line}: unclosed comment")),
                    }
                }
            }
            '"' => {
                let start = line;
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => value.extend(chars.next()),
                        Some(c) => {
                            line += usize::from(c == '\n');
                            value.push(c);
                        }
                        None => return Err(format!("line {start}: unclosed quote")),
                    }
                }
                out.push((start, Token::Quoted(value)));
            }
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "{};=\"".contains(n) {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                out.push((line, Token::Word(word)));
            }
        }
    }
    Ok(out)
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &mut usize) {
    for c in chars.by_ref() {
        if c == '\n' {
            *line += 1;
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_modules_and_options_as_zookeeper_documents_them() {
        let text = r#"
            // the server's users
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_super="admin secret"  /* quoted: spaces kept */
                user_bob=bobsecret
                user_q="a\"b";
            };
            # a client section too
            Client {
                org.apache.zookeeper.server.auth.DigestLoginModule Required
                username="bob" password="bobsecret";
                other.Module optional;
            };
        "#;
        let sections = parse(text).unwrap();
        assert_eq!(sections.len(), 2);
        let (name, modules) = &sections[0];
        assert_eq!(name, "Server");
        assert_eq!(
            modules[0],
            LoginModule {
                class: "org.apache.zookeeper.server.auth.DigestLoginModule".into(),
                options: vec![
                    ("user_super".into(), "admin secret".into()),
                    ("user_bob".into(), "bobsecret".into()),
                    ("user_q".into(), "a\"b".into()),
                ],
            }
        );
        assert_eq!(sections[1].1.len(), 2);
        assert!(sections[1].1[1].options.is_empty());
    }

    #[test]
    fn a_broken_file_names_the_line() {
        for (text, says) in [
            ("Server {\n m required\n user_a=\"x\"\n", "end of file"),
            ("Server {\n m maybe;\n};", "line 2: expected the flag of m"),
            ("Server {\n m required a;\n};", "line 2: expected '='"),
            ("Server {\n m required a=\"x;\n};", "line 2: unclosed quote"),
            ("Server {\n m required;\n}", "expected ';'"),
            ("{ };", "line 1: expected a section name"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    proptest::proptest! {
        /// An operator's file may hold anything: an error or sections.
        #[test]
        fn any_text_parses_or_names_its_problem(text in "[A-Za-z_{};=\"\\/*# \n]{0,200}") {
            let _ = parse(&text);
        }
    }
}
