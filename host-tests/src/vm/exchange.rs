//! One HTTP exchange through a [`Vm`], in Envoy's order of callbacks: context creation, request
//! headers and body, the response (or the local response), the access log and the stream's end.

use super::{Vm, ROOT_CONTEXT_ID};
use crate::abi::Action;
use crate::error::HostError;
use crate::http::{Headers, LocalResponse, LogLine, Outcome, Request};
use crate::state::{HeaderMap, Phase, Stream};

impl Vm {
    /// Runs one HTTP exchange through the filter, in Envoy's order:
    ///
    /// 1. `proxy_on_context_create(id, root)` for a new context id;
    /// 2. `proxy_on_request_headers(id, n, end_of_stream)` — the request
    ///    headers are readable and writable;
    /// 3. when the request has a body and the filter continued:
    ///    `proxy_on_request_body(id, len, true)`;
    /// 4. the response: when the filter sent a local response, Envoy runs the
    ///    filter's response callbacks **on the local response** too, so
    ///    `proxy_on_response_headers` sees `:status`, the local response's
    ///    headers, `content-length` and (for a non-empty body without one)
    ///    `content-type: text/plain`; when the request was forwarded, it sees
    ///    `:status` plus [`Request::response_headers`]; when the filter paused
    ///    or reset the request, there is no response;
    /// 5. `proxy_on_log(id)` (both header maps readable), then
    ///    `proxy_on_done(id)` and `proxy_on_delete(id)`.
    ///
    /// As in Envoy, after a callback returns `Continue` its header map is gone:
    /// reading a request header from `proxy_on_response_headers` of a
    /// forwarded request gives `BAD_ARGUMENT` (the Rust SDK's
    /// `get_http_request_header` panics on it) and the whole map reads empty.
    pub fn request(&mut self, request: &Request) -> Result<Outcome, HostError> {
        if self.failed {
            return Err(HostError::VmFailed);
        }
        if !self.configured {
            return Err(HostError::NotConfigured {
                logs: self.logs().to_vec(),
            });
        }
        let id = self.next_context_id;
        self.next_context_id = self.next_context_id.checked_add(1).unwrap_or(ROOT_CONTEXT_ID + 1);
        let mark = self.store.data().logs.len();
        self.fuel_used = 0;
        self.clear_fuel_trace();
        self.store.data_mut().stream = Some(Stream {
            id,
            request_headers: lower(&request.headers),
            source_address: request.source_address.clone(),
            destination_address: request.destination_address.clone(),
            properties: request.properties.iter().cloned().collect(),
            ..Stream::default()
        });
        let result = self.run_stream(id, request);
        let stream = self.store.data_mut().stream.take().unwrap_or_default();
        let logs: Vec<LogLine> = if self.failed {
            Vec::new()
        } else {
            self.store.data_mut().logs.drain(mark..).collect()
        };
        let steps = result?;
        Ok(Outcome {
            context_id: id,
            action: steps.action,
            body_action: steps.body_action,
            local_response: stream.local_response,
            forwarded: steps.forwarded,
            reset: stream.reset,
            request_headers: named(&stream.request_headers),
            request_body: stream.request_body,
            response_action: steps.response_action,
            response_headers: named(&stream.response_headers),
            logs,
            fuel_consumed: self.fuel.map(|_| self.fuel_used),
        })
    }

    fn stream(&mut self) -> &mut Stream {
        self.store.data_mut().stream.get_or_insert_with(Stream::default)
    }

    fn run_stream(&mut self, id: u32, request: &Request) -> Result<Steps, HostError> {
        let root = ROOT_CONTEXT_ID as i32;
        let ctx = id as i32;
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call("proxy_on_context_create", f, id, Phase::Stream, (ctx, root))?;
        }

        // Request headers.
        let body = request.body.clone().filter(|b| !b.is_empty());
        let n = self.stream().request_headers.len() as i32;
        self.stream().request_live = true;
        let action = match self.exports.on_request_headers.clone() {
            Some(f) => Action::from_raw(self.call(
                "proxy_on_request_headers",
                f,
                id,
                Phase::Stream,
                (ctx, n, i32::from(body.is_none())),
            )? as u32),
            None => Action::Continue,
        };
        let s = self.stream();
        if action == Action::Continue && s.local_response.is_none() {
            s.request_live = false;
        }
        let mut proceed = s.local_response.is_none() && !s.reset && (action == Action::Continue || s.continue_request);

        // Request body.
        let mut body_action = None;
        if let (true, Some(body)) = (proceed, body) {
            let len = body.len() as i32;
            let s = self.stream();
            s.request_body = Some(body);
            s.request_body_live = true;
            let a = match self.exports.on_request_body.clone() {
                Some(f) => {
                    Action::from_raw(self.call("proxy_on_request_body", f, id, Phase::Stream, (ctx, len, 1))? as u32)
                }
                None => Action::Continue,
            };
            let s = self.stream();
            if a == Action::Continue {
                s.request_body_live = false;
            }
            proceed = s.local_response.is_none() && !s.reset && (a == Action::Continue || s.continue_request);
            body_action = Some(a);
        }

        // Response: the local one, the upstream's, or none.
        let s = self.stream();
        let (response, response_body) = match (&s.local_response, proceed && !s.reset) {
            (Some(local), _) => (Some(local_reply_headers(local)), Some(local.body.clone())),
            (None, true) => {
                let mut headers = vec![(b":status".to_vec(), request.response_status.to_string().into_bytes())];
                headers.extend(lower(&request.response_headers));
                (Some(headers), request.response_body.clone())
            }
            (None, false) => (None, None),
        };
        let had_local = s.local_response.is_some();
        let mut response_action = None;
        if let Some(headers) = response {
            let status = headers
                .first()
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok());
            let response_body = response_body.filter(|b| !b.is_empty());
            let s = self.stream();
            s.response_status = status;
            s.response_headers = headers;
            s.response_live = true;
            let n = s.response_headers.len() as i32;
            let a = match self.exports.on_response_headers.clone() {
                Some(f) => Action::from_raw(self.call(
                    "proxy_on_response_headers",
                    f,
                    id,
                    Phase::Stream,
                    (ctx, n, i32::from(response_body.is_none())),
                )? as u32),
                None => Action::Continue,
            };
            response_action = Some(a);
            let s = self.stream();
            if a == Action::Continue {
                s.response_live = false;
            }
            if let (false, Some(local)) = (had_local, &s.local_response) {
                // A local response sent from the response path replaces it.
                s.response_headers = local_reply_headers(local);
                s.response_status = Some(local.status as u16);
            } else if let (Action::Continue, Some(body)) = (a, response_body) {
                let len = body.len() as i32;
                s.response_body = Some(body);
                s.response_body_live = true;
                if let Some(f) = self.exports.on_response_body.clone() {
                    self.call("proxy_on_response_body", f, id, Phase::Stream, (ctx, len, 1))?;
                }
                self.stream().response_body_live = false;
            }
        }

        // End of stream: access log, then destroy.
        self.stream().access_log = true;
        if let Some(f) = self.exports.on_log.clone() {
            self.call("proxy_on_log", f, id, Phase::Stream, ctx)?;
        }
        self.stream().access_log = false;
        if let Some(f) = self.exports.on_done.clone() {
            let done = self.call("proxy_on_done", f, id, Phase::Stream, ctx)?;
            self.stream().done_pending = done == 0;
        }
        if let Some(f) = self.exports.on_delete.clone() {
            self.call("proxy_on_delete", f, id, Phase::Stream, ctx)?;
        }
        let s = self.stream();
        Ok(Steps {
            action,
            body_action,
            forwarded: s.local_response.is_none() && !s.reset && proceed,
            response_action,
        })
    }
}

struct Steps {
    action: Action,
    body_action: Option<Action>,
    forwarded: bool,
    response_action: Option<Action>,
}

/// Envoy's local reply: `:status`, the filter's headers, and for a non-empty
/// body `content-length` plus `content-type: text/plain` unless set.
fn local_reply_headers(local: &LocalResponse) -> HeaderMap {
    let mut headers = vec![(b":status".to_vec(), local.status.to_string().into_bytes())];
    headers.extend(lower(&local.headers));
    if !local.body.is_empty() {
        headers.retain(|(k, _)| k != b"content-length");
        headers.push((b"content-length".to_vec(), local.body.len().to_string().into_bytes()));
        if !headers.iter().any(|(k, _)| k == b"content-type") {
            headers.push((b"content-type".to_vec(), b"text/plain".to_vec()));
        }
    }
    headers
}

fn lower(headers: &Headers) -> HeaderMap {
    headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.clone()))
        .collect()
}

fn named(headers: &HeaderMap) -> Headers {
    headers
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.clone()))
        .collect()
}
