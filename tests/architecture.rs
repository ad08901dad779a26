//! The rules of ARCHITECTURE.md, checked by reading `src/` as text. Each test names the
//! rule it keeps; a failure says which file broke it and how.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The capability folders: each holds its own rules, storage, use cases and adapters.
const CAPABILITIES: &[&str] = &[
    "accounts",
    "reference",
    "register",
    "leads",
    "intake",
    "mailbox",
    "inspections",
    "consultations",
    "closures",
    "desk",
];

/// Layers below the capabilities, lowest first. A module may name its own layer and the
/// ones below it, and any capability's pure `rules`.
const LOWER: &[&str] = &["platform", "notify", "web"];

struct Source {
    /// Path below `src/`, with `/` separators.
    path: String,
    /// The text without its `#[cfg(test)]` part and without comments.
    code: String,
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let body = match text.find("#[cfg(test)]") {
                Some(i) => &text[..i],
                None => &text[..],
            };
            let code = body
                .lines()
                .map(|l| match l.trim_start().starts_with("//") {
                    true => "",
                    false => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            Source {
                path: p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
                code,
            }
        })
        .collect()
}

/// The top-level folder of a file (`leads` for `leads/actions.rs`).
fn top(path: &str) -> &str {
    path.split('/').next().unwrap().trim_end_matches(".rs")
}

/// Pure rules: `rules.rs` of a capability, or any file under a `rules/` folder.
fn is_rules(path: &str) -> bool {
    path.ends_with("/rules.rs") || path.contains("/rules/")
}

/// Every `crate::a::b::…` path a file names, as its segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let mut segs = Vec::new();
        let mut s = after;
        loop {
            let n = s
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if n == 0 || !s[..n].starts_with(|c: char| c.is_ascii_lowercase()) {
                break;
            }
            segs.push(s[..n].to_owned());
            s = &s[n..];
            match s.strip_prefix("::") {
                Some(next) => s = next,
                None => break,
            }
        }
        if !segs.is_empty() {
            out.push(segs);
        }
        rest = after;
    }
    out
}

fn names_rules(segs: &[String]) -> bool {
    segs.iter().any(|s| s == "rules")
}

fn layer_of(folder: &str) -> usize {
    if let Some(i) = LOWER.iter().position(|l| *l == folder) {
        return i;
    }
    if CAPABILITIES.contains(&folder) {
        return LOWER.len();
    }
    if folder == "app" {
        return LOWER.len() + 1;
    }
    panic!("src/{folder} is in no layer of ARCHITECTURE.md: add it to a layer (and to this test)");
}

/// Rule 1: dependencies point down. `app` → capabilities → `web` → `notify` → `platform`,
/// with pure rules beneath everything.
#[test]
fn dependencies_point_down() {
    let mut broken = Vec::new();
    for s in sources() {
        if s.path == "lib.rs" || s.path == "main.rs" {
            continue;
        }
        let me = top(&s.path);
        for segs in crate_paths(&s.code) {
            if is_rules(&s.path) || names_rules(&segs) {
                continue;
            }
            let target = segs[0].as_str();
            if target == me {
                continue;
            }
            let (mine, theirs) = (layer_of(me), layer_of(target));
            let both_capabilities = CAPABILITIES.contains(&me) && CAPABILITIES.contains(&target);
            if theirs > mine || (theirs == mine && !both_capabilities) {
                broken.push(format!("src/{} names crate::{}", s.path, segs.join("::")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "these name a layer above (or beside) their own; pass what they need down instead:\n{}",
        broken.join("\n")
    );
}

/// Rule 1: pure rules know nothing of the database, HTTP or anything but other rules.
#[test]
fn rules_are_pure() {
    let mut broken = Vec::new();
    for s in sources().iter().filter(|s| is_rules(&s.path)) {
        for word in ["diesel", "actix_web", "AppState", "DbConnection", "tokio"] {
            if s.code.contains(word) {
                broken.push(format!("src/{} uses {word}", s.path));
            }
        }
        for segs in crate_paths(&s.code) {
            if !names_rules(&segs) {
                broken.push(format!("src/{} names crate::{}", s.path, segs.join("::")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "rules must stay pure:\n{}",
        broken.join("\n")
    );
}

/// Rule 1: no import cycle between capability folders.
#[test]
fn capabilities_form_no_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources() {
        let me = top(&s.path);
        if !CAPABILITIES.contains(&me) {
            continue;
        }
        for segs in crate_paths(&s.code) {
            let t = segs[0].as_str();
            if t != me && CAPABILITIES.contains(&t) && !names_rules(&segs) {
                edges.entry(me.to_owned()).or_default().insert(t.to_owned());
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for c in CAPABILITIES {
        if let Some(cycle) = visit(c, &edges, &mut Vec::new(), &mut done) {
            panic!(
                "capabilities import each other in a cycle: {}",
                cycle.join(" → ")
            );
        }
    }
}

/// Rule 1: background jobs, the email intake and use cases call use cases, never HTTP
/// handlers: only adapters (`api`, `pages`) and the app's route table name an adapter.
#[test]
fn only_adapters_name_adapters() {
    let is_adapter = |p: &str| {
        let stem = p.rsplit('/').next().unwrap().trim_end_matches(".rs");
        p.split('/').any(|seg| seg == "api" || seg == "pages") || matches!(stem, "api" | "pages")
    };
    let mut broken = Vec::new();
    for s in sources() {
        if is_adapter(&s.path)
            || s.path == "app/routes.rs"
            || s.path == "app/openapi.rs"
            || top(&s.path) == "web"
        {
            continue;
        }
        for segs in crate_paths(&s.code) {
            if segs.iter().skip(1).any(|x| x == "api" || x == "pages") {
                broken.push(format!("src/{} names crate::{}", s.path, segs.join("::")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "call the capability's use case instead of its handler:\n{}",
        broken.join("\n")
    );
}

/// Who owns each table: only files of that folder name it. A new table gets an owner here.
const TABLES: &[(&str, &[&str])] = &[
    (
        "platform",
        &[
            "system_settings",
            "audit_log",
            "audit_head",
            "idempotency_keys",
        ],
    ),
    (
        "notify",
        &["notifications", "outbox", "notification_preferences"],
    ),
    ("accounts", &["users"]),
    (
        "inspections",
        &[
            "inspection_items",
            "inspection_counters",
            "inspections",
            "inspection_departments",
            "inspection_inspectors",
            "inspection_task_items",
            "inspection_results",
            "hazards",
            "inspection_ratings",
            "inspection_plans",
            "inspection_files",
            "inspection_tallies",
        ],
    ),
    (
        "consultations",
        &[
            "consultation_requests",
            "consultations",
            "consultation_invitees",
            "consultation_agenda",
            "consultation_counters",
            "consultation_minutes",
            "minutes_supplements",
            "decisions",
            "decision_reports",
            "decision_extensions",
            "decision_files",
            "decision_tallies",
            "decision_closure_tallies",
            "decision_due_tallies",
            "monthly_reports",
            "monthly_report_items",
            "monthly_report_reminders",
            "calendar_feeds",
        ],
    ),
    (
        "closures",
        &[
            "closure_counters",
            "closure_cases",
            "closure_tasks",
            "closure_files",
            "closure_acceptances",
            "closure_acceptance_units",
            "closure_watch",
            "closure_patrols",
            "closure_tallies",
            "closure_due_tallies",
        ],
    ),
    (
        "reference",
        &[
            "departments",
            "townships",
            "lead_categories",
            "permit_types",
            "closure_task_templates",
            "reference_stamp",
        ],
    ),
    (
        "register",
        &[
            "mines",
            "mine_changes",
            "permits",
            "mine_boundaries",
            "prohibited_zones",
            "permit_reminders",
        ],
    ),
    (
        "leads",
        &[
            "lead_counters",
            "lead_stat_changes",
            "lead_stat_parts",
            "lead_stat_days",
            "lead_stat_hours",
            "lead_stat_rollup",
            "lead_stat_stamps",
            "lead_due_marks",
            "lead_due_days",
            "leads",
            "lead_departments",
            "lead_deadlines",
            "lead_events",
            "lead_transfers",
            "lead_evaluations",
            "lead_followers",
            "lead_attachments",
        ],
    ),
    ("intake", &["inbound_messages"]),
];

/// The tables a file names through `schema::…` (`schema::{a, b as c}` or `schema::a`).
fn tables_named(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("schema::") {
        rest = &rest[i + "schema::".len()..];
        let ident = |t: &str| -> String {
            t.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            out.extend(list[..end].split(',').map(ident).filter(|t| !t.is_empty()));
        } else {
            let t = ident(rest);
            if !t.is_empty() {
                out.insert(t);
            }
        }
    }
    out
}

/// The known tables that SQL text in the code reads or writes (`FROM t`, `JOIN t`,
/// `INTO t`, `UPDATE t`).
fn tables_in_sql<'a>(code: &str, tables: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in tables {
        for kw in ["FROM ", "JOIN ", "INTO ", "UPDATE "] {
            let needle = format!("{kw}{t}");
            let found = code.match_indices(&needle).any(|(i, _)| {
                code[i + needle.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
            });
            if found {
                out.insert(t.to_owned());
            }
        }
    }
    out
}

/// Rule 2: a table is named only by the folder that owns it (another capability asks
/// through the owner's functions), and adapters (`api`, `pages`) name no table at all.
#[test]
fn tables_are_named_by_their_owner_only() {
    let owner: BTreeMap<&str, &str> = TABLES
        .iter()
        .flat_map(|(folder, tables)| tables.iter().map(move |t| (*t, *folder)))
        .collect();
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/platform/db/schema.rs"),
    )
    .unwrap();
    let declared: Vec<&str> = schema
        .split("diesel::table! {")
        .skip(1)
        .filter_map(|t| t.split_whitespace().next())
        .collect();
    let mut broken: Vec<String> = declared
        .iter()
        .filter(|t| !owner.contains_key(*t))
        .map(|t| format!("table {t} has no owner in TABLES (tests/architecture.rs)"))
        .collect();
    let all = sources();
    // Capabilities that keep their storage in one `store.rs`: only that file names their
    // tables (the others follow as they get theirs).
    let is_store = |p: &str| p.ends_with("/store.rs") || p.contains("/store/");
    let with_store: BTreeSet<&str> = all
        .iter()
        .filter(|s| is_store(&s.path))
        .map(|s| top(&s.path))
        .collect();
    for s in &all {
        if s.path.starts_with("platform/db/") {
            continue;
        }
        let in_store_folder = with_store.contains(top(&s.path)) && !is_store(&s.path);
        let adapter = s
            .path
            .split('/')
            .any(|seg| matches!(seg.trim_end_matches(".rs"), "api" | "pages"));
        let mut named = tables_named(&s.code);
        named.extend(tables_in_sql(&s.code, owner.keys().copied()));
        for t in named {
            match owner.get(t.as_str()) {
                _ if adapter => broken.push(format!("src/{} (an adapter) names table {t}", s.path)),
                Some(o) if *o != top(&s.path) => broken.push(format!(
                    "src/{} names table {t}, which belongs to {o}",
                    s.path
                )),
                Some(_) if in_store_folder => broken.push(format!(
                    "src/{} names table {t}; its capability keeps its queries in store.rs",
                    s.path
                )),
                Some(_) => {}
                None => broken.push(format!("src/{} names {t}, not a known table", s.path)),
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ask the owning capability through its functions:\n{}",
        broken.join("\n")
    );
}

/// Rule 3: adapters and the page kit decide what to offer by asking the gate
/// (`authz::allowed`) or a capability's `policy.rs`, never by comparing roles themselves.
#[test]
fn adapters_compare_no_roles() {
    let mut broken = Vec::new();
    for s in sources() {
        let adapter = s
            .path
            .split('/')
            .any(|seg| matches!(seg.trim_end_matches(".rs"), "api" | "pages"))
            || s.path == "web/kit.rs";
        if !adapter {
            continue;
        }
        for (n, line) in s.code.lines().enumerate() {
            let compares = line.contains("Role::")
                || line.contains(".role ==")
                || line.contains(".role !=")
                || (line.contains("matches!(") && line.contains(".role"));
            if compares {
                broken.push(format!("src/{}:{}: {}", s.path, n + 1, line.trim()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ask authz::allowed or the capability's policy instead:\n{}",
        broken.join("\n")
    );
}

/// Rule 5: "today" is the Asia/Shanghai date from `platform::clock`, never the UTC date,
/// and time comes from the injectable clock, never the system's.
#[test]
fn today_comes_from_the_clock() {
    let mut broken = Vec::new();
    for s in sources() {
        if s.path == "platform/clock.rs" {
            continue;
        }
        for (pattern, why) in [
            ("Utc::now()", "read the time from the injectable clock (state.clock)"),
            ("Local::now()", "read the time from the injectable clock (state.clock)"),
            ("SystemTime::now()", "read the time from the injectable clock (state.clock)"),
            ("now.date()", "the UTC date is not today in Beijing: use clock::shanghai_date(now) or state.today()"),
            ("naive_utc().date()", "the UTC date is not today in Beijing: use clock::today"),
        ] {
            for (n, line) in s.code.lines().enumerate() {
                if line.contains(pattern) {
                    broken.push(format!("src/{}:{}: {pattern} — {why}", s.path, n + 1));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Rule 4: a coded column is read as its enum (see `text_coded!` in platform/db), so an
/// unknown code is an error; no code parses a stored code into a default variant
/// (`State::parse(&row.state).unwrap_or(State::Routed)`).
#[test]
fn coded_values_have_no_silent_default() {
    let mut broken = Vec::new();
    for s in sources() {
        let code: String = s.code.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut rest = code.as_str();
        while let Some(i) = rest.find("::parse(") {
            let after = &rest[i + "::parse(".len()..];
            // The matching parenthesis of the call.
            let mut depth = 1;
            let mut end = after.len();
            for (j, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let tail = after[end..].trim_start_matches(')').trim_start();
            if let Some(default) = tail.strip_prefix(".unwrap_or(") {
                if default.starts_with(|c: char| c.is_ascii_uppercase()) {
                    let start = rest[..i].rfind(' ').map_or(0, |k| k + 1);
                    broken.push(format!(
                        "src/{}: {}…",
                        s.path,
                        &rest[start..(i + 60).min(rest.len())]
                    ));
                }
            }
            rest = after;
        }
    }
    assert!(
        broken.is_empty(),
        "a stored code parsed into a default hides a bad value; read the column as its enum:\n{}",
        broken.join("\n")
    );
}

/// The layout itself: every top-level folder is a layer or a capability named in
/// ARCHITECTURE.md, and ARCHITECTURE.md names every capability.
#[test]
fn every_folder_is_on_the_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root.join("src")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            layer_of(&name);
            assert!(
                map.contains(&format!("{name}/")),
                "ARCHITECTURE.md does not describe src/{name}/"
            );
        } else {
            assert!(
                matches!(name.as_str(), "lib.rs" | "main.rs"),
                "src/{name}: files at the top of src/ belong in a folder of ARCHITECTURE.md"
            );
        }
    }
}
