//! APIs: their sizes, styles, base paths and hosts, and the operations of each (REST, Google-style
//! custom methods, Twilio-style `.json` paths), with unique templates and operationIds.

use std::collections::HashSet;

use serde_json::json;

use super::words::*;
use super::{ApiPlan, Config, IdStyle, SpecOp, Style};
use crate::rng::Rng;

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `{anything}` → `{}`: the identity of a template for duplicate detection.
pub(super) fn template_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push('{');
            }
            '}' => {
                depth -= 1;
                out.push('}');
            }
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

struct OpBuilder<'r> {
    rng: &'r mut Rng,
    style: Style,
    target: usize,
    ops: Vec<SpecOp>,
    seen: HashSet<(String, &'static str)>,
    ids: HashSet<String>,
}

impl OpBuilder<'_> {
    pub(super) fn full(&self) -> bool {
        self.ops.len() >= self.target
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        method: &'static str,
        path: String,
        id: String,
        summary: String,
        tag: &str,
        schema: &str,
        list: bool,
    ) {
        if self.full() || !self.seen.insert((template_key(&path), method)) {
            return;
        }
        let operation_id = if self.rng.chance(120) {
            None
        } else {
            let mut id = id;
            if !self.ids.insert(id.clone()) {
                let mut n = 2;
                while !self.ids.insert(format!("{id}{n}")) {
                    n += 1;
                }
                id = format!("{id}{n}");
            }
            Some(id)
        };
        let in_segment = path
            .split('/')
            .any(|seg| seg.contains('{') && !(seg.starts_with('{') && seg.ends_with('}')));
        self.ops.push(SpecOp {
            method,
            path,
            operation_id,
            summary,
            tag: tag.to_string(),
            schema: schema.to_string(),
            list,
            in_segment,
        });
    }

    /// A resource, its operations and (recursively) its sub-resources.
    pub(super) fn resource(&mut self, prefix: &str, chain: &[usize], noun: usize, depth: usize) {
        if self.full() {
            return;
        }
        let (singular, plural) = NOUNS[noun];
        let parent = chain.last().map(|&p| capitalize(NOUNS[p].0)).unwrap_or_default();
        let (sing, plur) = (capitalize(singular), capitalize(plural));
        let schema = sing.clone();
        let tag = plural;
        let (collection, item, child_prefix) = match self.style {
            Style::Rest | Style::Google => {
                let collection = format!("{prefix}/{plural}");
                let item = format!("{collection}/{{{singular}Id}}");
                (collection, item.clone(), item)
            }
            Style::Twilio => (
                format!("{prefix}/{plur}.json"),
                format!("{prefix}/{plur}/{{Sid}}.json"),
                format!("{prefix}/{plur}/{{{sing}Sid}}"),
            ),
        };
        self.add(
            "GET",
            collection.clone(),
            format!("list{parent}{plur}"),
            format!("List {plural}"),
            tag,
            &schema,
            true,
        );
        self.add(
            "POST",
            collection.clone(),
            format!("create{parent}{sing}"),
            format!("Create a {singular}"),
            tag,
            &schema,
            false,
        );
        self.add(
            "GET",
            item.clone(),
            format!("get{parent}{sing}"),
            format!("Get a {singular}"),
            tag,
            &schema,
            false,
        );
        match self.style {
            Style::Twilio => self.add(
                "POST",
                item.clone(),
                format!("update{parent}{sing}"),
                format!("Update a {singular}"),
                tag,
                &schema,
                false,
            ),
            _ if self.rng.chance(600) => self.add(
                "PATCH",
                item.clone(),
                format!("update{parent}{sing}"),
                format!("Update a {singular}"),
                tag,
                &schema,
                false,
            ),
            _ => self.add(
                "PUT",
                item.clone(),
                format!("replace{parent}{sing}"),
                format!("Replace a {singular}"),
                tag,
                &schema,
                false,
            ),
        }
        if self.rng.chance(700) {
            self.add(
                "DELETE",
                item.clone(),
                format!("delete{parent}{sing}"),
                format!("Delete a {singular}"),
                tag,
                &schema,
                false,
            );
        }
        if self.style != Style::Twilio {
            if self.rng.chance(50) {
                self.add(
                    "HEAD",
                    item.clone(),
                    format!("check{parent}{sing}"),
                    format!("Check a {singular} exists"),
                    tag,
                    &schema,
                    false,
                );
            }
            if self.rng.chance(150) {
                let s = *self.rng.pick(STATIC_SIBLINGS);
                self.add(
                    "GET",
                    format!("{collection}/{s}"),
                    format!("{s}{parent}{plur}"),
                    format!("{} {plural}", capitalize(s)),
                    tag,
                    &schema,
                    false,
                );
            }
            if self.rng.chance(100) {
                let ext = *self.rng.pick(EXTENSIONS);
                self.add(
                    "GET",
                    format!("{item}.{ext}"),
                    format!("get{parent}{sing}As{}", capitalize(ext)),
                    format!("Get a {singular} as {ext}"),
                    tag,
                    &schema,
                    false,
                );
            }
            let actions = if self.rng.chance(300) { self.rng.range(1, 2) } else { 0 };
            for _ in 0..actions {
                let a = *self.rng.pick(ACTIONS);
                let path = match self.style {
                    Style::Google => format!("{item}:{a}"),
                    _ => format!("{item}/{a}"),
                };
                self.add(
                    "POST",
                    path,
                    format!("{a}{parent}{sing}"),
                    format!("{} a {singular}", capitalize(a)),
                    tag,
                    &schema,
                    false,
                );
            }
        }
        if depth < 3 {
            let children = self.rng.range(0, 3 - depth);
            let mut chain = chain.to_vec();
            chain.push(noun);
            for _ in 0..children {
                let child = self.rng.below(NOUNS.len());
                if chain.contains(&child) {
                    continue;
                }
                self.resource(&child_prefix, &chain, child, depth + 1);
            }
        }
    }
}

pub(super) fn api_operations(rng: &mut Rng, style: Style, target: usize) -> Vec<SpecOp> {
    let mut b = OpBuilder {
        rng,
        style,
        target,
        ops: Vec::with_capacity(target),
        seen: HashSet::new(),
        ids: HashSet::new(),
    };
    let mut nouns: Vec<usize> = (0..NOUNS.len()).collect();
    b.rng.shuffle(&mut nouns);
    let root = match style {
        Style::Twilio => {
            b.add(
                "GET",
                "/2010-04-01/Accounts.json".into(),
                "listAccounts".into(),
                "List accounts".into(),
                "accounts",
                "Account",
                true,
            );
            b.add(
                "GET",
                "/2010-04-01/Accounts/{Sid}.json".into(),
                "getAccount".into(),
                "Get an account".into(),
                "accounts",
                "Account",
                false,
            );
            "/2010-04-01/Accounts/{AccountSid}"
        }
        _ => "",
    };
    'outer: for group in GROUP_PREFIXES {
        for &noun in &nouns {
            if b.full() {
                break 'outer;
            }
            b.resource(&format!("{root}{group}"), &[], noun, 0);
        }
    }
    let mut n = 0;
    while !b.full() {
        // Only reachable with absurd targets: flat filler resources.
        n += 1;
        let path = format!("/extra{n}");
        b.add(
            "GET",
            path,
            format!("extra{n}"),
            "Extra".into(),
            "extra",
            "Extra",
            false,
        );
    }
    b.ops
}

/// Splits `total` operations over `apis` APIs: uneven sizes, each at least 20 (when possible).
pub(super) fn api_sizes(rng: &mut Rng, apis: usize, total: usize) -> Vec<usize> {
    let weights: Vec<usize> = (0..apis).map(|_| rng.range(1, 12)).collect();
    let sum: usize = weights.iter().sum();
    let min = (total / apis / 4).clamp(1, 20);
    let mut sizes: Vec<usize> = weights.iter().map(|w| (w * total / sum).max(min)).collect();
    let mut current: usize = sizes.iter().sum();
    while current != total {
        let i = rng.below(apis);
        if current < total {
            sizes[i] += 1;
            current += 1;
        } else if sizes[i] > min {
            sizes[i] -= 1;
            current -= 1;
        }
    }
    sizes
}

pub(super) fn build_apis(rng: &mut Rng, config: &Config) -> Vec<ApiPlan> {
    let sizes = api_sizes(rng, config.apis, config.operations);
    let mut out = Vec::with_capacity(config.apis);
    for (i, &size) in sizes.iter().enumerate() {
        let name = match API_NAMES.get(i) {
            Some(n) => (*n).to_string(),
            None => format!("{}{}", API_NAMES[i % API_NAMES.len()], i / API_NAMES.len() + 1),
        };
        let major = 1 + rng.below(3);
        let version = format!("{major}.{}.{}", rng.below(10), rng.below(20));
        let openapi = if rng.chance(500) { "3.1.0" } else { "3.0.3" };
        let style = match i % 10 {
            3 => Style::Twilio,
            6 | 8 => Style::Google,
            _ => Style::Rest,
        };
        let id_style = match style {
            Style::Twilio => IdStyle::Sid,
            _ if rng.chance(500) => IdStyle::Uuid,
            _ => IdStyle::Numeric,
        };
        let ops = api_operations(rng, style, size);
        // Base path and hosts: a deterministic mix of every way the compiler derives them.
        let (servers, base_path_override, hosts, base_path, request_host) = match i % 8 {
            // Host-matched APIs share `/v1`; every other one by a wildcard host.
            7 => {
                let host = format!("{name}.api.example.com");
                let wildcard = i % 16 == 15;
                let hosts = if wildcard {
                    vec![format!("*.{name}.example.com")]
                } else {
                    vec![host.clone()]
                };
                let request_host = if wildcard {
                    format!("eu.{name}.example.com")
                } else {
                    host.clone()
                };
                (
                    Some(json!([{"url": format!("https://{host}/v1"), "description": "Production"}])),
                    None,
                    hosts,
                    "/v1".to_string(),
                    request_host,
                )
            }
            // Production and sandbox servers that agree on the path.
            1 | 4 => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([
                        {"url": format!("https://api.example.com{base}"), "description": "Production"},
                        {"url": format!("https://sandbox.example.com{base}/"), "description": "Sandbox"}
                    ])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // Server variables with defaults.
            2 => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([{
                        "url": "https://{region}.example.com/{service}/{version}",
                        "variables": {
                            "region": {"default": "eu", "enum": ["eu", "us", "ap"]},
                            "service": {"default": name},
                            "version": {"default": format!("v{major}")}
                        }
                    }])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // No servers: the catalog gives the base path.
            5 => {
                let base = format!("/{name}");
                (
                    None,
                    Some(base.clone()),
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // A relative server URL.
            6 => {
                let base = format!("/api/{name}");
                (
                    Some(json!([{"url": base}])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            _ => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([{"url": format!("https://api.example.com{base}")}])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
        };
        out.push(ApiPlan {
            name,
            version,
            openapi,
            servers,
            base_path_override,
            hosts,
            base_path,
            request_host,
            id_style,
            ops,
        });
    }
    out
}
