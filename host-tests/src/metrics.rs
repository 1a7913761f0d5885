//! Proxy-wasm metrics (Envoy stats), recorded per name.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::abi::{MetricKind, Status};

/// The value of one metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricValue {
    /// A counter's total.
    Counter(u64),
    /// A gauge's current value.
    Gauge(u64),
    /// Every value recorded into a histogram, in order.
    Histogram(Vec<u64>),
}

/// The metrics the guest defined, by name, like Envoy's stats store.
///
/// Cloning yields a handle to the same store; give clones to several VMs and
/// their counters add up, as the workers of one Envoy do in `/stats`.
///
/// Envoy's semantics: `increment` of a counter needs a positive delta
/// (`BadArgument` otherwise), of a gauge adds or subtracts, of a histogram is
/// `BadArgument`; `record` adds to a counter, sets a gauge and records into a
/// histogram; `get` of a histogram is `BadArgument`.
#[derive(Clone, Default, Debug)]
pub struct Metrics {
    inner: Arc<Mutex<BTreeMap<(String, MetricKind), MetricValue>>>,
}

impl Metrics {
    /// An empty store.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, MetricKind), MetricValue>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The metric called `name` (a counter, else a gauge, else a histogram of
    /// that name), or `None` when the guest never defined it.
    pub fn get(&self, name: &str) -> Option<MetricValue> {
        let map = self.lock();
        [MetricKind::Counter, MetricKind::Gauge, MetricKind::Histogram]
            .into_iter()
            .find_map(|kind| map.get(&(name.to_owned(), kind)).cloned())
    }

    /// The counter (or gauge) called `name`; 0 when it is not defined.
    pub fn counter(&self, name: &str) -> u64 {
        match self.get(name) {
            Some(MetricValue::Counter(n)) | Some(MetricValue::Gauge(n)) => n,
            _ => 0,
        }
    }

    /// Every metric, by name (a name defined with several kinds appears once
    /// per kind).
    pub fn snapshot(&self) -> Vec<(String, MetricValue)> {
        self.lock()
            .iter()
            .map(|((name, _), v)| (name.clone(), v.clone()))
            .collect()
    }

    pub(crate) fn define(&self, name: &str, kind: MetricKind) {
        self.lock()
            .entry((name.to_owned(), kind))
            .or_insert_with(|| match kind {
                MetricKind::Counter => MetricValue::Counter(0),
                MetricKind::Gauge => MetricValue::Gauge(0),
                MetricKind::Histogram => MetricValue::Histogram(Vec::new()),
            });
    }

    pub(crate) fn increment(&self, name: &str, kind: MetricKind, delta: i64) -> Result<(), Status> {
        let mut map = self.lock();
        let value = map.get_mut(&(name.to_owned(), kind)).ok_or(Status::NotFound)?;
        match value {
            MetricValue::Counter(n) if delta > 0 => *n = n.saturating_add(delta.unsigned_abs()),
            MetricValue::Counter(_) => return Err(Status::BadArgument),
            MetricValue::Gauge(n) if delta >= 0 => *n = n.saturating_add(delta.unsigned_abs()),
            MetricValue::Gauge(n) => *n = n.saturating_sub(delta.unsigned_abs()),
            MetricValue::Histogram(_) => return Err(Status::BadArgument),
        }
        Ok(())
    }

    pub(crate) fn record(&self, name: &str, kind: MetricKind, value: u64) -> Result<(), Status> {
        let mut map = self.lock();
        let metric = map.get_mut(&(name.to_owned(), kind)).ok_or(Status::NotFound)?;
        match metric {
            MetricValue::Counter(n) => *n = n.saturating_add(value),
            MetricValue::Gauge(n) => *n = value,
            MetricValue::Histogram(values) => values.push(value),
        }
        Ok(())
    }

    pub(crate) fn value(&self, name: &str, kind: MetricKind) -> Result<u64, Status> {
        let map = self.lock();
        match map.get(&(name.to_owned(), kind)).ok_or(Status::NotFound)? {
            MetricValue::Counter(n) | MetricValue::Gauge(n) => Ok(*n),
            MetricValue::Histogram(_) => Err(Status::BadArgument),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_metric_semantics() {
        let m = Metrics::new();
        assert_eq!(m.get("c"), None);
        m.define("c", MetricKind::Counter);
        m.increment("c", MetricKind::Counter, 2).unwrap();
        assert_eq!(m.increment("c", MetricKind::Counter, 0), Err(Status::BadArgument));
        assert_eq!(m.increment("c", MetricKind::Counter, -1), Err(Status::BadArgument));
        m.record("c", MetricKind::Counter, 3).unwrap();
        assert_eq!(m.counter("c"), 5);

        m.define("g", MetricKind::Gauge);
        m.record("g", MetricKind::Gauge, 10).unwrap();
        m.increment("g", MetricKind::Gauge, -4).unwrap();
        assert_eq!(m.get("g"), Some(MetricValue::Gauge(6)));

        m.define("h", MetricKind::Histogram);
        m.record("h", MetricKind::Histogram, 7).unwrap();
        m.record("h", MetricKind::Histogram, 9).unwrap();
        assert_eq!(m.get("h"), Some(MetricValue::Histogram(vec![7, 9])));
        assert_eq!(m.increment("h", MetricKind::Histogram, 1), Err(Status::BadArgument));
        assert_eq!(m.value("h", MetricKind::Histogram), Err(Status::BadArgument));
        assert_eq!(m.value("nope", MetricKind::Counter), Err(Status::NotFound));

        // defining again keeps the value; clones share it
        m.define("c", MetricKind::Counter);
        assert_eq!(m.clone().counter("c"), 5);
        assert_eq!(m.snapshot().len(), 3);
    }
}
