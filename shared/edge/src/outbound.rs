//! Outbound HTTP to the outside (webhook deliveries): one `POST` with a deadline, on
//! `wasi:http/outgoing-handler` directly, because spin-sdk 5.2's `send` takes no request options.
//!
//! The deadline holds twice: the request carries it as its connect, first-byte and between-bytes
//! timeouts (Spin 4 and wasmtime-wasi-http apply them), and the guest waits on the response
//! together with a monotonic-clock timer, so a host that ignored the options still cannot hold
//! the guest past it. Only the status and `Retry-After` are read; the body is dropped unread.
//! The host refuses a destination outside the component's `allowed_outbound_hosts`
//! (`HttpRequestDenied`).

/// What the receiver answered, or why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A status and the `Retry-After` seconds, if it sent a number.
    Status(u16, Option<u64>),
    /// Nothing within the deadline.
    Timeout,
    /// The request could not be made (refused by the host, DNS, connection, TLS, protocol).
    Failed(String),
}

/// POSTs `body` to `url` with `headers`, waiting at most `timeout_ms`.
#[cfg(target_arch = "wasm32")]
pub fn post(url: &str, headers: &[(&str, String)], body: &[u8], timeout_ms: u64) -> Answer {
    match send(url, headers, body, timeout_ms) {
        Ok(answer) => answer,
        Err(e) => Answer::Failed(e),
    }
}

/// Natively (the benchmark's baseline server) there is no outbound HTTP.
#[cfg(not(target_arch = "wasm32"))]
pub fn post(_url: &str, _headers: &[(&str, String)], _body: &[u8], _timeout_ms: u64) -> Answer {
    Answer::Failed("outbound HTTP needs a WebAssembly host".into())
}

#[cfg(target_arch = "wasm32")]
fn send(
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout_ms: u64,
) -> Result<Answer, String> {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{
        Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
    };

    crate::scope::count(crate::scope::HostCall::Http);
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = if path.is_empty() { "/" } else { path };
    let fields: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&fields).map_err(|e| format!("headers: {e:?}"))?;
    let request = OutgoingRequest::new(fields);
    let bad = |what: &str| format!("invalid {what}");
    request
        .set_method(&Method::Post)
        .map_err(|()| bad("method"))?;
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        other => Scheme::Other(other.to_string()),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| bad("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| bad("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| bad("path"))?;
    let outgoing = request
        .body()
        .map_err(|()| "body already taken".to_string())?;
    let nanos = timeout_ms.saturating_mul(1_000_000);
    let options = RequestOptions::new();
    // A host may not support a timeout (it says so with an error): the timer below still holds.
    let _ignored = (
        options.set_connect_timeout(Some(nanos)),
        options.set_first_byte_timeout(Some(nanos)),
        options.set_between_bytes_timeout(Some(nanos)),
    );
    let timer = wasi::clocks::monotonic_clock::subscribe_duration(nanos);
    let future = outgoing_handler::handle(request, Some(options)).map_err(|e| format!("{e:?}"))?;
    {
        let stream = outgoing
            .write()
            .map_err(|()| "body stream already taken".to_string())?;
        let mut rest = body;
        while !rest.is_empty() {
            let room = stream
                .check_write()
                .map_err(|e| format!("writing the body: {e:?}"))?;
            if room == 0 {
                let ready = wasi::io::poll::poll(&[&stream.subscribe(), &timer]);
                if !ready.contains(&0) {
                    return Ok(Answer::Timeout);
                }
                continue;
            }
            let n = usize::try_from(room)
                .unwrap_or(usize::MAX)
                .min(rest.len())
                .min(4096);
            stream
                .write(&rest[..n])
                .map_err(|e| format!("writing the body: {e:?}"))?;
            rest = &rest[n..];
        }
        stream
            .flush()
            .map_err(|e| format!("writing the body: {e:?}"))?;
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| format!("finishing the body: {e:?}"))?;
    let ready = wasi::io::poll::poll(&[&future.subscribe(), &timer]);
    if !ready.contains(&0) {
        return Ok(Answer::Timeout);
    }
    match future.get() {
        Some(Ok(Ok(response))) => {
            let retry_after = response
                .headers()
                .get(&"retry-after".to_string())
                .first()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            Ok(Answer::Status(response.status(), retry_after))
        }
        Some(Ok(Err(code))) => Ok(match code {
            wasi::http::types::ErrorCode::ConnectionTimeout
            | wasi::http::types::ErrorCode::ConnectionReadTimeout
            | wasi::http::types::ErrorCode::ConnectionWriteTimeout => Answer::Timeout,
            other => Answer::Failed(format!("{other:?}")),
        }),
        Some(Err(())) => Err("response already taken".into()),
        None => Ok(Answer::Timeout),
    }
}
