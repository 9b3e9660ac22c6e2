//! Command-line options, parsed by hand (as `edge-host` does) to keep the dependency tree small.
//! Parsing is pure — no file or network access — so the loopback rule is unit-tested here; the
//! resolved addresses are checked again before connecting (see `client::resolve`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

pub const USAGE: &str = "usage: edge-load --url URL [--method GET|POST|...] [--body STR | --body-file FILE] \
[--header 'name: value']... --concurrency N --requests N --duration-secs S [--warmup-secs S] \
[--label NAME] [--json]\n\
a body may contain {seq}, replaced by each request's 0-based sequence number within its phase";

/// The most connections a run may open.
pub const MAX_CONCURRENCY: usize = 1024;
/// The longest a phase (warm-up or measurement) may last.
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

/// Where requests go: a loopback `http://` URL split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host as written in the URL, without IPv6 brackets (`127.0.0.1`, `::1`, `localhost`).
    pub host: String,
    /// TCP port (80 when the URL has none).
    pub port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    /// Origin-form request target (`/path?query`).
    pub path_and_query: String,
}

/// Where the request body comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySource {
    /// No body.
    Empty,
    /// `--body STR`.
    Inline(String),
    /// `--body-file FILE`, read once before the run.
    File(PathBuf),
}

/// A parsed command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    pub method: Method,
    pub body: BodySource,
    pub headers: HeaderMap,
    pub concurrency: usize,
    pub requests: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub label: String,
    pub json: bool,
}

/// Whether `host` (a URL host, IPv6 without brackets) names the loopback interface:
/// `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses an `http://` URL whose host is loopback.
pub fn parse_target(url: &str) -> Result<Target> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("--url {url:?} is not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => bail!("--url: only http:// is supported, not {other}://"),
        None => bail!("--url {url:?} needs http://HOST[:PORT]/PATH"),
    }
    let authority = uri
        .authority()
        .with_context(|| format!("--url {url:?} has no host"))?;
    if authority.as_str().contains('@') {
        bail!("--url must not carry credentials");
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if !is_loopback_host(&host) {
        bail!(
            "refusing to load {host}: edge-load only targets loopback \
             (127.0.0.0/8, ::1 or localhost)"
        );
    }
    Ok(Target {
        port: authority.port_u16().unwrap_or(80),
        authority: authority.as_str().to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        host,
    })
}

fn parse_header(raw: &str, headers: &mut HeaderMap) -> Result<()> {
    let (name, value) = raw
        .split_once(':')
        .with_context(|| format!("--header {raw:?} must look like 'name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .with_context(|| format!("--header {raw:?}: bad header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .with_context(|| format!("--header {raw:?}: bad header value"))?;
    headers.append(name, value);
    Ok(())
}

fn parse_secs(flag: &str, raw: &str) -> Result<Duration> {
    let secs: f64 = raw
        .parse()
        .with_context(|| format!("{flag} takes seconds, not {raw:?}"))?;
    if !(0.0..=MAX_PHASE.as_secs_f64()).contains(&secs) {
        bail!("{flag} must be between 0 and {}", MAX_PHASE.as_secs());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_count<T: std::str::FromStr + PartialOrd + From<u8>>(flag: &str, raw: &str) -> Result<T> {
    let n: T = raw
        .parse()
        .ok()
        .with_context(|| format!("{flag} takes a positive integer, not {raw:?}"))?;
    if n < T::from(1) {
        bail!("{flag} must be at least 1");
    }
    Ok(n)
}

/// Parses the arguments after the program name. `Ok(None)` means `--help`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>> {
    let mut args = args.into_iter();
    let mut url = None;
    let mut method = Method::GET;
    let mut body = BodySource::Empty;
    let mut headers = HeaderMap::new();
    let (mut concurrency, mut requests, mut duration) = (None, None, None);
    let mut warmup = Duration::ZERO;
    let mut label = None;
    let mut json = false;
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--url" => url = Some(value()?),
            "--method" | "-X" => {
                let raw = value()?;
                method = Method::from_bytes(raw.to_ascii_uppercase().as_bytes())
                    .with_context(|| format!("--method {raw:?} is not an HTTP method"))?;
            }
            "--body" | "--body-file" => {
                if body != BodySource::Empty {
                    bail!("give at most one of --body and --body-file");
                }
                let v = value()?;
                body = if flag == "--body" {
                    BodySource::Inline(v)
                } else {
                    BodySource::File(PathBuf::from(v))
                };
            }
            "--header" | "-H" => parse_header(&value()?, &mut headers)?,
            "--concurrency" | "-c" => {
                concurrency = Some(parse_count::<u16>(&flag, &value()?)?);
            }
            "--requests" | "-n" => requests = Some(parse_count::<u64>(&flag, &value()?)?),
            "--duration-secs" => {
                let d = parse_secs(&flag, &value()?)?;
                if d.is_zero() {
                    bail!("--duration-secs must be more than 0");
                }
                duration = Some(d);
            }
            "--warmup-secs" => warmup = parse_secs(&flag, &value()?)?,
            "--label" => label = Some(value()?),
            "--json" => json = true,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    let missing = |name: &str| format!("{name} is required (every run is bounded)\n{USAGE}");
    let target = parse_target(&url.with_context(|| missing("--url"))?)?;
    let concurrency = usize::from(concurrency.with_context(|| missing("--concurrency"))?);
    if concurrency > MAX_CONCURRENCY {
        bail!("--concurrency must be at most {MAX_CONCURRENCY}");
    }
    Ok(Some(Options {
        label: label.unwrap_or_else(|| format!("{method} {}", target.path_and_query)),
        target,
        method,
        body,
        headers,
        concurrency,
        requests: requests.with_context(|| missing("--requests"))?,
        duration: duration.with_context(|| missing("--duration-secs"))?,
        warmup,
        json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn err(s: &str) -> String {
        match parse(args(s)) {
            Ok(_) => String::new(),
            Err(e) => format!("{e:#}"),
        }
    }

    const BOUNDS: &str = "--concurrency 2 --requests 10 --duration-secs 1";

    #[test]
    fn loopback_hosts() {
        for ok in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "example.com",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "::ffff:127.0.0.1",
            "localhost.example.com",
            "128.0.0.1",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn targets_split_the_url() {
        let t = parse_target("http://127.0.0.1:3000/health/live?x=1").ok();
        assert_eq!(
            t,
            Some(Target {
                host: "127.0.0.1".into(),
                port: 3000,
                authority: "127.0.0.1:3000".into(),
                path_and_query: "/health/live?x=1".into(),
            })
        );
        let t = parse_target("http://[::1]:8080").ok();
        assert_eq!(t.as_ref().map(|t| t.host.as_str()), Some("::1"));
        assert_eq!(t.as_ref().map(|t| t.path_and_query.as_str()), Some("/"));
        let t = parse_target("http://localhost/").ok();
        assert_eq!(t.map(|t| t.port), Some(80));
    }

    #[test]
    fn non_loopback_and_non_http_targets_are_refused() {
        let e = err(&format!("--url http://example.com/ {BOUNDS}"));
        assert!(e.contains("refusing to load example.com"), "{e}");
        assert!(e.contains("loopback"), "{e}");
        assert!(err(&format!("--url http://192.168.1.2:80/ {BOUNDS}")).contains("refusing"));
        assert!(err(&format!("--url https://127.0.0.1/ {BOUNDS}")).contains("only http://"));
        assert!(err(&format!("--url http://u:p@127.0.0.1/ {BOUNDS}")).contains("credentials"));
    }

    #[test]
    fn every_run_is_bounded() {
        let url = "--url http://127.0.0.1:1/";
        assert!(err(&format!("{url} --requests 1 --duration-secs 1")).contains("--concurrency"));
        assert!(err(&format!("{url} --concurrency 1 --duration-secs 1")).contains("--requests"));
        assert!(err(&format!("{url} --concurrency 1 --requests 1")).contains("--duration-secs"));
        assert!(err(&format!("{url} {BOUNDS} --duration-secs 0")).contains("more than 0"));
        assert!(
            err(&format!(
                "{url} --concurrency 0 --requests 1 --duration-secs 1"
            ))
            .contains("at least 1")
        );
        assert!(
            err(&format!(
                "{url} --concurrency 2000 --requests 1 --duration-secs 1"
            ))
            .contains("at most")
        );
        assert!(err(&format!("{url} {BOUNDS} --warmup-secs -1")).contains("between"));
        assert!(err(&format!("{url} {BOUNDS} --warmup-secs 99999")).contains("between"));
    }

    #[test]
    fn full_command_line() {
        let mut a = args(
            "--url http://localhost:3000/scores --method post --body {} --concurrency 32 \
             --requests 200000 --duration-secs 2.5 --warmup-secs 0.5 --label submit --json",
        );
        a.extend([
            "--header".to_string(),
            "content-type: application/json".to_string(),
        ]);
        let o = parse(a).ok().flatten();
        let Some(o) = o else {
            panic!("did not parse");
        };
        assert_eq!(o.method, Method::POST);
        assert_eq!(o.body, BodySource::Inline("{}".into()));
        assert_eq!(
            o.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        assert_eq!((o.concurrency, o.requests), (32, 200_000));
        assert_eq!(o.duration, Duration::from_millis(2500));
        assert_eq!(o.warmup, Duration::from_millis(500));
        assert_eq!(o.label, "submit");
        assert!(o.json);
    }

    #[test]
    fn defaults_and_help() {
        let o = parse(args(&format!(
            "--url http://127.0.0.1:3000/health/live {BOUNDS}"
        )))
        .ok()
        .flatten();
        assert_eq!(
            o.as_ref().map(|o| o.label.as_str()),
            Some("GET /health/live")
        );
        assert_eq!(o.as_ref().map(|o| o.warmup), Some(Duration::ZERO));
        assert!(matches!(parse(args("--help")), Ok(None)));
    }

    #[test]
    fn body_flags_are_exclusive_and_headers_checked() {
        let base = format!("--url http://127.0.0.1/ {BOUNDS}");
        assert!(err(&format!("{base} --body a --body-file f")).contains("at most one"));
        assert!(err(&format!("{base} --header novalue")).contains("name: value"));
        assert!(err(&format!("{base} --bogus")).contains("unknown flag"));
    }
}
