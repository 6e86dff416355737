//! The "no module circles" check of issue 16, over our own source with no
//! extra tool (cargo-modules takes minutes to install in CI).
//!
//! Every file under src/ (but src/bin/, which only calls the library) is a
//! module: src/lib.rs is `crate`, src/a/mod.rs and src/a.rs are `crate::a`,
//! src/a/b.rs is `crate::a::b`. A small tokenizer (it skips comments, string
//! and char literals, and knows lifetimes) finds every `use` and every path
//! in code that starts with `crate::`, `super::`, `self::`, a child module or
//! a module imported by name. A path counts as a use of the longest prefix
//! that is a file, after following `pub use` re-exports, so a path through
//! a `mod.rs` to a deeper module is a use of the deeper one.
//!
//! Not seen: paths made by macros, names reached through a glob re-export
//! (`pub use x::*` counts as a use of x by the file that writes it, but a
//! path through it stops at that file), and an import's scope (a module
//! imported by name inside a function counts for the whole file).
//!
//! Over 600 lines: about a third are the scanner's own tests, kept beside
//! it in the one test binary that `make test` runs for this check.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Skips a quoted literal whose opening quote is at `i`; returns the index
/// after its closing quote. Escapes are honoured unless `raw`.
fn skip_quoted(s: &[char], mut i: usize, quote: char, raw: bool, line: &mut usize) -> usize {
    i += 1;
    while i < s.len() {
        match s[i] {
            '\\' if !raw => {
                // An escaped newline (a string continued on the next line) is still a line.
                *line += usize::from(s.get(i + 1) == Some(&'\n'));
                i += 1;
            }
            '\n' => *line += 1,
            c if c == quote => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Skips a raw string `r#"..."#` whose `r` is at `i` (any number of `#`).
fn skip_raw_string(s: &[char], mut i: usize, line: &mut usize) -> usize {
    i += 1;
    let mut hashes = 0;
    while s.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < s.len() {
        if s[i] == '\n' {
            *line += 1;
        }
        if s[i] == '"' && (1..=hashes).all(|k| s.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Does a raw string start at `i` (`r"` or `r#...#"`)?
fn raw_string_at(s: &[char], i: usize) -> bool {
    let mut j = i + 1;
    while s.get(j) == Some(&'#') {
        j += 1;
    }
    s.get(i) == Some(&'r') && s.get(j) == Some(&'"')
}

fn tokenize(src: &str) -> Vec<Token> {
    let s: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && s.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && s.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(s[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_quoted(&s, i, '"', false, &mut line);
        } else if c == '\'' {
            if next == Some('\\') || s.get(i + 2) == Some(&'\'') {
                i = skip_quoted(&s, i, '\'', false, &mut line); // a char literal
            } else {
                i += 1; // a lifetime or a label: its name is skipped next
                while i < s.len() && is_ident_char(s[i]) {
                    i += 1;
                }
            }
        } else if is_ident_start(c) {
            // String-like literals with a prefix: b"", b'', c"", r"", br"", cr"".
            let after_prefix = if matches!(c, 'b' | 'c') && next == Some('r') { i + 1 } else { i };
            if raw_string_at(&s, after_prefix) {
                i = skip_raw_string(&s, after_prefix, &mut line);
                continue;
            }
            if matches!(c, 'b' | 'c') && matches!(next, Some('"') | Some('\'')) {
                i = skip_quoted(&s, i + 1, s[i + 1], false, &mut line);
                continue;
            }
            if c == 'r' && next == Some('#') {
                i += 2; // a raw identifier r#name
            }
            let start = i;
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
            let tok = Tok::Ident(s[start..i].iter().collect());
            out.push(Token { tok, line });
        } else if c.is_ascii_digit() {
            while i < s.len()
                && (is_ident_char(s[i]) || (s[i] == '.' && s.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            out.push(Token { tok: Tok::PathSep, line });
            i += 2;
        } else {
            out.push(Token { tok: Tok::Punct(c), line });
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- one file

/// One name brought in by a `use` (a leaf of its tree).
#[derive(Debug, Clone)]
struct UseLeaf {
    /// The module the `use` sits in (the file's, or an inline `mod` in it).
    ctx: Vec<String>,
    segs: Vec<String>,
    alias: Option<String>,
    glob: bool,
    public: bool,
    line: usize,
}

/// A path written in code (`crate::a::f(`), outside `use`.
#[derive(Debug, Clone)]
struct CodePath {
    ctx: Vec<String>,
    segs: Vec<String>,
    line: usize,
}

#[derive(Debug, Default)]
struct FileUses {
    uses: Vec<UseLeaf>,
    paths: Vec<CodePath>,
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t.map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn is(t: Option<&Token>, want: &Tok) -> bool {
    t.is_some_and(|t| &t.tok == want)
}

/// Is the `use` at `i` preceded by `pub` or `pub(...)`?
fn is_public(toks: &[Token], i: usize) -> bool {
    if i >= 1 && ident(toks.get(i - 1)) == Some("pub") {
        return true;
    }
    if i >= 1 && is(toks.get(i - 1), &Tok::Punct(')')) {
        let open = toks[..i].iter().rposition(|t| t.tok == Tok::Punct('('));
        return open.is_some_and(|o| o >= 1 && ident(toks.get(o - 1)) == Some("pub"));
    }
    false
}

/// Parses one use tree at `*i` with the segments before it in `prefix`.
fn parse_use_tree(toks: &[Token], i: &mut usize, prefix: &[String], proto: &UseLeaf, out: &mut Vec<UseLeaf>) {
    let mut segs = prefix.to_vec();
    if is(toks.get(*i), &Tok::PathSep) {
        segs.push("::".into()); // `::name`: an external crate
        *i += 1;
    }
    loop {
        let Some(t) = toks.get(*i) else { return };
        let line = t.line;
        match &t.tok {
            Tok::Ident(name) => {
                segs.push(name.clone());
                *i += 1;
                if is(toks.get(*i), &Tok::PathSep) {
                    *i += 1;
                    continue;
                }
                let mut alias = None;
                if ident(toks.get(*i)) == Some("as") {
                    alias = ident(toks.get(*i + 1)).map(str::to_string);
                    *i += 2;
                }
                if segs.last().is_some_and(|s| s == "self") {
                    segs.pop();
                    alias = alias.or_else(|| segs.last().cloned());
                }
                out.push(UseLeaf { segs, alias, glob: false, line, ..proto.clone() });
                return;
            }
            Tok::Punct('*') => {
                *i += 1;
                out.push(UseLeaf { segs, alias: None, glob: true, line, ..proto.clone() });
                return;
            }
            Tok::Punct('{') => {
                *i += 1;
                while let Some(t) = toks.get(*i) {
                    match t.tok {
                        Tok::Punct('}') => {
                            *i += 1;
                            return;
                        }
                        Tok::Punct(',') => *i += 1,
                        _ => {
                            let before = *i;
                            parse_use_tree(toks, i, &segs, proto, out);
                            if *i == before {
                                *i += 1; // not a use tree: do not loop on it
                            }
                        }
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// Finds the uses and the paths in code of one file whose module is `module`.
fn scan_file(src: &str, module: &[String]) -> FileUses {
    let toks = tokenize(src);
    let mut found = FileUses::default();
    let mut ctx = module.to_vec();
    let mut depth = 0usize;
    let mut inline_mods: Vec<usize> = Vec::new(); // brace depth inside each inline `mod`
    let mut i = 0;
    while i < toks.len() {
        let prev = if i > 0 { toks.get(i - 1) } else { None };
        match &toks[i].tok {
            Tok::Ident(w) if w == "mod" && is(toks.get(i + 2), &Tok::Punct('{')) => {
                ctx.push(ident(toks.get(i + 1)).unwrap_or("?").to_string());
                depth += 1;
                inline_mods.push(depth);
                i += 3;
            }
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline_mods.last() == Some(&depth) {
                    inline_mods.pop();
                    ctx.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "use" => {
                let proto = UseLeaf {
                    ctx: ctx.clone(),
                    segs: Vec::new(),
                    alias: None,
                    glob: false,
                    public: is_public(&toks, i),
                    line: toks[i].line,
                };
                i += 1;
                parse_use_tree(&toks, &mut i, &[], &proto, &mut found.uses);
                while i < toks.len() && toks[i].tok != Tok::Punct(';') {
                    i += 1;
                }
            }
            Tok::Ident(first)
                if is(toks.get(i + 1), &Tok::PathSep)
                    && ident(toks.get(i + 2)).is_some()
                    && !is(prev, &Tok::PathSep)
                    && !is(prev, &Tok::Punct('.'))
                    && !(ident(prev) == Some("in") && is(toks.get(i.wrapping_sub(2)), &Tok::Punct('('))) =>
            {
                let mut segs = vec![first.clone()];
                let line = toks[i].line;
                i += 1;
                while is(toks.get(i), &Tok::PathSep) {
                    let Some(name) = ident(toks.get(i + 1)) else { break };
                    segs.push(name.to_string());
                    i += 2;
                }
                found.paths.push(CodePath { ctx: ctx.clone(), segs, line });
            }
            _ => i += 1,
        }
    }
    found
}

// ---------------------------------------------------------------- the crate

/// One use of another module, with where it is written.
#[derive(Debug, Clone)]
struct Ref {
    from: String,
    line: usize,
    written: String,
    to: String,
}

struct Graph {
    /// module path -> file path (relative to the manifest)
    files: BTreeMap<String, String>,
    sources: BTreeMap<String, String>,
    refs: Vec<Ref>,
}

/// src/lib.rs -> crate, src/a/mod.rs and src/a.rs -> crate::a; None for
/// src/bin/ and anything that is not a .rs file under src/.
fn module_of(rel: &str) -> Option<String> {
    let inner = rel.strip_prefix("src/")?.strip_suffix(".rs")?;
    if inner.starts_with("bin/") || inner == "main" {
        return None;
    }
    let mut parts: Vec<&str> = inner.split('/').collect();
    if matches!(parts.last(), Some(&"mod") | Some(&"lib")) {
        parts.pop();
    }
    Some(std::iter::once("crate").chain(parts).collect::<Vec<_>>().join("::"))
}

fn join(segs: &[String]) -> String {
    segs.join("::")
}

struct Resolver<'a> {
    modules: &'a BTreeSet<String>,
    /// module -> name -> absolute path it re-exports (`pub use`)
    reexports: HashMap<String, HashMap<String, Vec<String>>>,
}

impl Resolver<'_> {
    /// Makes `segs` (written in module `ctx`) absolute, or None when it
    /// names something outside the crate.
    fn absolute(&self, ctx: &[String], segs: &[String], aliases: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
        let first = segs.first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => vec!["crate".into()],
            "self" => ctx.to_vec(),
            "super" => {
                let ups = segs.iter().take_while(|s| *s == "super").count();
                let keep = ctx.len().checked_sub(ups).filter(|k| *k >= 1)?;
                let mut base = ctx[..keep].to_vec();
                base.extend(segs[ups..].iter().cloned());
                return Some(base);
            }
            _ if aliases.contains_key(first) => aliases[first].clone(),
            _ if self.modules.contains(&format!("{}::{first}", join(ctx))) => {
                let mut base = ctx.to_vec();
                base.push(first.clone());
                base
            }
            _ => return None,
        };
        base.extend(segs[1..].iter().cloned());
        Some(base)
    }

    /// The module an absolute path lands in: the longest prefix that is a
    /// file, after following re-exports. Also whether the path is exactly
    /// that module (it names no item in it).
    fn module(&self, abs: &[String]) -> (String, bool) {
        let mut segs = abs.to_vec();
        for _ in 0..16 {
            let k = (1..=segs.len()).rev().find(|k| self.modules.contains(&join(&segs[..*k]))).unwrap_or(1);
            let module = join(&segs[..k]);
            let target = segs.get(k).and_then(|name| self.reexports.get(&module)?.get(name));
            match target {
                Some(target) if k < segs.len() => {
                    let mut next = target.clone();
                    next.extend(segs[k + 1..].iter().cloned());
                    segs = next;
                }
                _ => return (module, k == segs.len()),
            }
        }
        (join(&segs[..1]), false)
    }
}

fn split(module: &str) -> Vec<String> {
    module.split("::").map(str::to_string).collect()
}

impl Graph {
    /// Builds the graph from (path relative to the manifest, source) pairs.
    fn build(sources: Vec<(String, String)>) -> Graph {
        let mut files = BTreeMap::new();
        let mut texts = BTreeMap::new();
        for (rel, text) in sources {
            if let Some(module) = module_of(&rel) {
                files.insert(module.clone(), rel);
                texts.insert(module, text);
            }
        }
        let modules: BTreeSet<String> = files.keys().cloned().collect();
        let scans: BTreeMap<&String, FileUses> = texts.iter().map(|(m, t)| (m, scan_file(t, &split(m)))).collect();
        let mut resolver = Resolver { modules: &modules, reexports: HashMap::new() };

        // Modules imported by name (`use crate::a::b;` then `b::f()`): the
        // import itself uses no item; the paths through it do.
        let mut aliases: HashMap<&String, HashMap<String, Vec<String>>> = HashMap::new();
        for (module, scan) in &scans {
            let mut names = HashMap::new();
            for _round in 0..2 {
                for leaf in scan.uses.iter().filter(|l| !l.glob) {
                    let Some(abs) = resolver.absolute(&leaf.ctx, &leaf.segs, &names) else { continue };
                    if modules.contains(&join(&abs)) {
                        let name = leaf.alias.clone().or_else(|| abs.last().cloned()).unwrap_or_default();
                        names.insert(name, abs);
                    }
                }
            }
            aliases.insert(module, names);
        }
        for (module, scan) in &scans {
            let top = split(module);
            for leaf in scan.uses.iter().filter(|l| l.public && !l.glob && l.ctx == top) {
                let Some(abs) = resolver.absolute(&leaf.ctx, &leaf.segs, &aliases[module]) else { continue };
                let Some(name) = leaf.alias.clone().or_else(|| leaf.segs.last().cloned()) else { continue };
                resolver.reexports.entry((*module).clone()).or_default().insert(name, abs);
            }
        }

        let mut refs = Vec::new();
        for (module, scan) in &scans {
            let mut add = |ctx: &[String], segs: &[String], line: usize, glob: bool| {
                let Some(abs) = resolver.absolute(ctx, segs, &aliases[module]) else { return };
                let (to, exact) = resolver.module(&abs);
                let imports_a_module = exact && !glob && modules.contains(&join(&abs));
                if to != **module && !imports_a_module {
                    let written = join(segs) + if glob { "::*" } else { "" };
                    refs.push(Ref { from: (*module).clone(), line, written, to });
                }
            };
            for leaf in &scan.uses {
                add(&leaf.ctx, &leaf.segs, leaf.line, leaf.glob);
            }
            for path in &scan.paths {
                add(&path.ctx, &path.segs, path.line, false);
            }
        }
        Graph { files, sources: texts, refs }
    }

    fn read(root: &Path) -> Graph {
        let mut sources = Vec::new();
        let mut stack = vec![root.join("src")];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())).path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let rel = path.strip_prefix(root).expect("under the manifest").to_string_lossy().replace('\\', "/");
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {rel}: {e}"));
                    sources.push((rel, text));
                }
            }
        }
        Graph::build(sources)
    }

    fn file<'a>(&'a self, module: &'a str) -> &'a str {
        self.files.get(module).map(String::as_str).unwrap_or(module)
    }

    /// from -> to -> the first place `from` uses `to`, for modules `within`.
    fn edges(&self, within: impl Fn(&str) -> bool) -> BTreeMap<&str, BTreeMap<&str, &Ref>> {
        let mut edges: BTreeMap<&str, BTreeMap<&str, &Ref>> = BTreeMap::new();
        for r in self.refs.iter().filter(|r| within(&r.from) && within(&r.to)) {
            edges.entry(&r.from).or_default().entry(&r.to).or_insert(r);
        }
        edges
    }

    /// Every strongly connected set of more than one module (Tarjan), each
    /// explained by the shortest cycle through each of its members.
    fn cycles(&self, within: impl Fn(&str) -> bool) -> Vec<String> {
        let edges = self.edges(within);
        let mut reports = Vec::new();
        for scc in tarjan(&edges).into_iter().filter(|c| c.len() > 1) {
            let members: BTreeSet<&str> = scc.iter().copied().collect();
            let mut seen = BTreeSet::new();
            let mut text = format!("{} files in one circle:\n", members.len());
            for start in &members {
                let Some(cycle) = shortest_cycle(&edges, &members, start) else { continue };
                let min = (0..cycle.len()).min_by_key(|i| cycle[*i]).unwrap_or(0);
                let rotated: Vec<&str> = cycle[min..].iter().chain(&cycle[..min]).copied().collect();
                if !seen.insert(rotated.clone()) {
                    continue;
                }
                let names: Vec<&str> = rotated.iter().chain(&rotated[..1]).map(|m| self.file(m)).collect();
                text += &format!("  {}\n", names.join(" -> "));
                for (k, from) in rotated.iter().enumerate() {
                    let r = edges[from][rotated[(k + 1) % rotated.len()]];
                    text += &format!("      {}:{} uses {}\n", self.file(from), r.line, r.written);
                }
            }
            reports.push(text);
        }
        reports
    }
}

type Edges<'a> = BTreeMap<&'a str, BTreeMap<&'a str, &'a Ref>>;

fn tarjan<'a>(edges: &Edges<'a>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, edges: &Edges<'a>, st: &mut State<'a>) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        for w in edges.get(v).into_iter().flat_map(|m| m.keys().copied()) {
            if !st.index.contains_key(w) {
                visit(w, edges, st);
                let low = st.low[v].min(st.low[w]);
                st.low.insert(v, low);
            } else if st.on_stack.contains(w) {
                let low = st.low[v].min(st.index[w]);
                st.low.insert(v, low);
            }
        }
        if st.low[v] == st.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                scc.push(w);
                if w == v {
                    break;
                }
            }
            st.out.push(scc);
        }
    }
    let mut st = State {
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> = edges.iter().flat_map(|(f, t)| std::iter::once(*f).chain(t.keys().copied())).collect();
    for v in nodes {
        if !st.index.contains_key(v) {
            visit(v, edges, &mut st);
        }
    }
    st.out
}

/// The shortest cycle from `start` back to it inside `members` (BFS).
fn shortest_cycle<'a>(edges: &Edges<'a>, members: &BTreeSet<&'a str>, start: &'a str) -> Option<Vec<&'a str>> {
    let mut came_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flat_map(|m| m.keys().copied()) {
            if w == start {
                let mut path = vec![v];
                while let Some(p) = came_from.get(path[path.len() - 1]) {
                    path.push(p);
                }
                path.reverse();
                return Some(path);
            }
            if members.contains(w) && w != start && !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

// ---------------------------------------------------------------- layers

/// The layers of crate::submit, top to bottom.
const HEAD_LAYERS: [&str; 5] = ["commands", "cli", "plans", "report", "cluster"];

/// Where a module of crate::submit sits: None for the entry (mod.rs).
fn head_layer(module: &str) -> Result<Option<usize>, String> {
    let rest = module.strip_prefix("crate::submit").ok_or("outside submit")?;
    let Some(rest) = rest.strip_prefix("::") else { return Ok(None) };
    let top = rest.split("::").next().unwrap_or(rest);
    if top == "error" {
        return Ok(Some(HEAD_LAYERS.len()));
    }
    HEAD_LAYERS.iter().position(|l| *l == top).map(Some).ok_or_else(|| top.to_string())
}

fn layer_name(layer: Option<usize>) -> &'static str {
    match layer {
        None => "the entry mod.rs",
        Some(i) => HEAD_LAYERS.get(i).copied().unwrap_or("error"),
    }
}

/// The top-level folder of a module: crate::daemon::x -> daemon.
fn area(module: &str) -> &str {
    module.split("::").nth(1).unwrap_or("crate")
}

fn crate_rule(from: &str, to: &str) -> Option<&'static str> {
    match (area(from), area(to)) {
        ("daemon", "submit") | ("submit", "daemon") => {
            Some("move what both sides need to protocol/ or a shared module")
        }
        ("protocol" | "net" | "jobs" | "life", "daemon" | "submit") => {
            Some("shared modules may not use either binary's side")
        }
        _ => None,
    }
}

impl Graph {
    fn layer_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for module in self.files.keys().filter(|m| m.starts_with("crate::submit")) {
            if let Err(folder) = head_layer(module) {
                out.push(format!(
                    "{} is in no layer: `{folder}` is not one of {HEAD_LAYERS:?} (or error.rs)",
                    self.file(module)
                ));
            }
        }
        for r in &self.refs {
            let at = format!("{}:{} uses {}", self.file(&r.from), r.line, r.written);
            if let Some(why) = crate_rule(&r.from, &r.to) {
                out.push(format!("{at} ({} may not use {}: {why})", area(&r.from), area(&r.to)));
                continue;
            }
            let (Ok(from), Ok(to)) = (head_layer(&r.from), head_layer(&r.to)) else { continue };
            let allowed = match (from, to) {
                (None, _) => true,
                (Some(_), None) => false,
                // error.rs sits below every layer and uses none of them.
                (Some(f), Some(t)) => f < HEAD_LAYERS.len() && t >= f,
            };
            if !allowed {
                out.push(format!("{at} (layer {} may not use layer {})", layer_name(from), layer_name(to)));
            }
        }
        out
    }
}

// ---------------------------------------------------------------- the checks

/// Our source's graph, read once for all the checks.
fn our_graph() -> &'static Graph {
    static GRAPH: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
    GRAPH.get_or_init(|| Graph::read(Path::new(env!("CARGO_MANIFEST_DIR"))))
}

fn in_head(module: &str) -> bool {
    module == "crate::submit" || module.starts_with("crate::submit::")
}

#[test]
fn no_module_imports_its_caller() {
    let cycles = our_graph().cycles(in_head);
    assert!(
        cycles.is_empty(),
        "modules of src/submit/ use each other in a circle; each circle below is a list of files, \
         then the line where each one uses the next: move what both need below both, or pass it in\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_cycles_in_the_crate() {
    let cycles = our_graph().cycles(|_| true);
    assert!(cycles.is_empty(), "modules of src/ use each other in a circle:\n{}", cycles.join("\n"));
}

#[test]
fn the_head_is_layered() {
    let violations = our_graph().layer_violations();
    assert!(
        violations.is_empty(),
        "{} uses cross the layers (src/submit/: commands, cli, plans, report, cluster, top to bottom; \
         mod.rs may use all, error.rs is a leaf; daemon and submit do not use each other; protocol, net, jobs and life use neither):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// Files of the head over 600 lines with no "over 600 lines" comment in
/// their first 10 lines saying why.
fn long_files_without_a_reason(graph: &Graph) -> Vec<String> {
    let mut offenders = Vec::new();
    for (module, text) in graph.sources.iter().filter(|(m, _)| in_head(m)) {
        let lines = text.lines().count();
        let says_why = text.lines().take(10).any(|l| {
            let l = l.trim_start();
            l.starts_with("//") && (l.contains("Over 600 lines") || l.contains("over 600 lines"))
        });
        if lines > 600 && !says_why {
            offenders.push(format!("{} has {lines} lines", graph.file(module)));
        }
    }
    offenders
}

#[test]
fn long_files_say_why() {
    let offenders = long_files_without_a_reason(our_graph());
    assert!(
        offenders.is_empty(),
        "files in src/submit/ over 600 lines must say why in a comment in their first 10 lines \
         (\"//! Over 600 lines because ...\"), or be split:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_graph_is_not_empty() {
    let graph = our_graph();
    assert!(graph.files.len() > 50, "only {} modules found under src/", graph.files.len());
    let edges: usize = graph.edges(|_| true).values().map(BTreeMap::len).sum();
    assert!(edges > 100, "only {edges} edges between modules: the scanner misses uses");
    let found = graph
        .refs
        .iter()
        .any(|r| r.from == "crate::submit::commands::job" && r.to == "crate::submit::cluster::connect");
    assert!(found, "src/submit/commands/job.rs -> src/submit/cluster/connect.rs not found");
}

// ---------------------------------------------------------------- self-tests

fn fake(files: &[(&str, &str)]) -> Graph {
    Graph::build(files.iter().map(|(p, s)| (p.to_string(), s.to_string())).collect())
}

/// "from -> to (written)" for every reference, sorted.
fn refs_of(graph: &Graph, from: &str) -> Vec<String> {
    let mut out: Vec<String> =
        graph.refs.iter().filter(|r| r.from == from).map(|r| format!("{} {}", r.to, r.written)).collect();
    out.sort();
    out
}

const TREE: [(&str, &str); 6] = [
    ("src/lib.rs", "pub mod a; pub mod b;"),
    ("src/a/mod.rs", "pub mod x; pub mod y; pub use x::Foo; pub struct Q;"),
    ("src/a/x.rs", "pub struct Foo;"),
    ("src/a/y/mod.rs", "pub fn g() {}"),
    ("src/b.rs", "pub fn f() {}"),
    ("src/bin/tool.rs", "use piworker::a::Q; fn main() { crate::a::Q; }"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Graph {
    fake(&[&TREE[..], extra].concat())
}

#[test]
fn grouped_nested_and_multi_line_uses() {
    let g = with(&[("src/c.rs", "use crate::{\n  a::{x::Foo, y},\n  b,\n};\nfn h() { y::g(); b::f(); }")]);
    assert_eq!(refs_of(&g, "crate::c"), ["crate::a::x crate::a::x::Foo", "crate::a::y y::g", "crate::b b::f"]);
    let line = g.refs.iter().find(|r| r.written == "crate::a::x::Foo").map(|r| r.line);
    assert_eq!(line, Some(2), "a leaf of a multi-line use is reported on its own line");
}

#[test]
fn super_from_a_mod_rs_and_from_a_leaf() {
    let g = with(&[("src/a/y/z.rs", "use super::g; use super::super::Q; use super::super::x::Foo;")]);
    assert_eq!(
        refs_of(&g, "crate::a::y::z"),
        ["crate::a super::super::Q", "crate::a::x super::super::x::Foo", "crate::a::y super::g"]
    );
    // From src/a/mod.rs, super is the crate; a path through it to b is a use of b.
    let g = fake(&[("src/lib.rs", "pub mod a; pub mod b;"), ("src/a/mod.rs", "use super::b::f;"), ("src/b.rs", "")]);
    assert_eq!(refs_of(&g, "crate::a"), ["crate::b super::b::f"]);
}

#[test]
fn use_super_star_in_mod_tests_is_the_file_itself() {
    let g = with(&[(
        "src/a/x.rs",
        "pub struct Foo;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::Q;\n}\n",
    )]);
    assert_eq!(refs_of(&g, "crate::a::x"), ["crate::a super::super::Q"]);
    let g = with(&[("src/a/x.rs", "use super::*;")]);
    assert_eq!(refs_of(&g, "crate::a::x"), ["crate::a super::*"], "a leaf's `use super::*` uses its parent");
}

#[test]
fn paths_in_code_and_reexports() {
    let g = with(&[("src/b.rs", "fn f() { crate::a::y::g(); let _ = crate::a::Foo::new(); crate::a::Q; }")]);
    assert_eq!(
        refs_of(&g, "crate::b"),
        ["crate::a crate::a::Q", "crate::a::x crate::a::Foo::new", "crate::a::y crate::a::y::g"]
    );
    // A module imported by name is not a use of the mod.rs it names.
    let g = with(&[("src/b.rs", "use crate::a::{self, y};")]);
    assert_eq!(refs_of(&g, "crate::b"), Vec::<String>::new());
}

#[test]
fn strings_comments_and_lifetimes_are_not_paths() {
    let src = r####"
        // crate::b::f
        /// crate::b::f
        /* crate::b::f /* nested */ crate::b::f */
        fn s() -> &'static str { "crate::b::f \" crate::b::f" }
        fn r() -> &'static str { r#"crate::b::f " crate::b::f"# }
        fn c() -> (char, char, u8) { ('"', '\'', b'"') }
        fn l<'a>(x: &'a str) -> &'a str { crate::a::Q; x }
    "####;
    let g = with(&[("src/b.rs", src)]);
    assert_eq!(refs_of(&g, "crate::b"), ["crate::a crate::a::Q"]);
    let lines: Vec<usize> = g.refs.iter().filter(|r| r.from == "crate::b").map(|r| r.line).collect();
    assert_eq!(lines, [8], "line numbers count the lines inside comments and strings");
}

#[test]
fn a_circle_is_reported_with_its_files_and_lines() {
    let g = fake(&[
        ("src/lib.rs", "pub mod submit;"),
        ("src/submit/mod.rs", "pub mod cli; pub mod cluster; pub fn helper() {}"),
        ("src/submit/cli/mod.rs", "use crate::submit::cluster::link::Link;\nfn f() { super::helper(); }"),
        ("src/submit/cluster/mod.rs", "pub mod link;"),
        ("src/submit/cluster/link.rs", "pub struct Link;\nuse crate::submit::cli::X;"),
    ]);
    let cycles = g.cycles(in_head);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].contains("src/submit/cli/mod.rs -> src/submit/cluster/link.rs -> src/submit/cli/mod.rs"),
        "{}",
        cycles[0]
    );
    assert!(cycles[0].contains("src/submit/cluster/link.rs:2 uses crate::submit::cli::X"), "{}", cycles[0]);
    let violations = g.layer_violations();
    assert_eq!(
        violations,
        [
            "src/submit/cli/mod.rs:2 uses super::helper (layer cli may not use layer the entry mod.rs)",
            "src/submit/cluster/link.rs:2 uses crate::submit::cli::X (layer cluster may not use layer cli)",
        ]
    );
}

#[test]
fn the_rules_between_the_two_sides_and_for_error_rs() {
    let g = fake(&[
        ("src/lib.rs", "pub mod daemon; pub mod jobs; pub mod submit;"),
        ("src/daemon/mod.rs", "fn f() { crate::submit::error::E; crate::jobs::J; }"),
        ("src/jobs/mod.rs", "use crate::daemon::D;"),
        ("src/submit/mod.rs", "pub mod error; pub mod cluster; pub mod units;"),
        ("src/submit/error.rs", "use super::cluster::C;"),
        ("src/submit/cluster/mod.rs", "use crate::submit::error::E;"),
        ("src/submit/units.rs", ""),
    ]);
    assert_eq!(
        g.layer_violations(),
        [
            "src/submit/units.rs is in no layer: `units` is not one of \
             [\"commands\", \"cli\", \"plans\", \"report\", \"cluster\"] (or error.rs)",
            "src/daemon/mod.rs:1 uses crate::submit::error::E (daemon may not use submit: \
             move what both sides need to protocol/ or a shared module)",
            "src/jobs/mod.rs:1 uses crate::daemon::D (jobs may not use daemon: \
             shared modules may not use either binary's side)",
            "src/submit/error.rs:1 uses super::cluster::C (layer error may not use layer cluster)",
        ]
    );
}

#[test]
fn a_long_file_needs_its_reason_at_the_top() {
    let body = "fn f() {}\n".repeat(601);
    let why = format!("//! Over 600 lines: one table.\n{body}");
    let late = format!("{}// over 600 lines: too late\n{body}", "\n".repeat(10));
    let g = Graph::build(vec![
        ("src/lib.rs".into(), "pub mod submit;".into()),
        ("src/submit/mod.rs".into(), body.clone()),
        ("src/submit/cli/mod.rs".into(), why),
        ("src/submit/cli/late.rs".into(), late),
        ("src/submit/cli/short.rs".into(), "fn f() {}\n".repeat(600)),
    ]);
    assert_eq!(
        long_files_without_a_reason(&g),
        ["src/submit/mod.rs has 601 lines", "src/submit/cli/late.rs has 612 lines"]
    );
}
