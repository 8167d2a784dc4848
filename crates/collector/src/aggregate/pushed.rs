//! The groups pushed through the Pushgateway API, with the Pushgateway's semantics:
//! what a push makes of a group (`PUT` replaces it, `POST` replaces the families it
//! pushes), the checks a push must pass against the other groups and the collector's own
//! families, and the families all groups add to `/metrics`.
//!
//! As strict as the Pushgateway: reserved (`__`) and duplicate label names, series that
//! another group already has, and names that collide with a histogram's or summary's
//! samples are refused, so that no push can break the exposition for Prometheus. And
//! bounded, unlike it: a push over a series limit, or one that would open a group over
//! the group limit, is refused whole.
//!
//! Knows nothing of HTTP or of where groups are kept: the receiver persists a group
//! before it is put here.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::exposition::parse::ParsedFamily;
use crate::exposition::{Encoded, Family, Kind, Labels, Value as Sample};

/// Families the gateway itself maintains per group; pushed copies are ignored.
const OWN_FAMILIES: &[&str] = &["push_time_seconds", "push_failure_time_seconds"];

/// A group's grouping key: label pairs sorted by name, `job` among them.
pub type GroupKey = Vec<(String, String)>;

/// One group of pushed metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub(crate) families: BTreeMap<String, PushedFamily>,
    pub(crate) push_time: f64,
    pub(crate) failure_time: f64,
}

/// One pushed family, its samples as pushed (with the grouping labels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PushedFamily {
    pub(crate) help: String,
    pub(crate) kind: Kind,
    /// (sample name, labels sorted by name, value)
    pub(crate) samples: Vec<(String, Labels, f64)>,
}

/// How a push changes its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// `PUT`: the pushed families are the whole group.
    Replace,
    /// `POST`: the pushed families replace those of the same name.
    Merge,
}

/// What bounds the pushed groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushLimits {
    /// Most groups.
    pub groups: usize,
    /// Most series (sample lines) in all groups together.
    pub series: usize,
    /// Most series of one metric in all groups together.
    pub series_per_metric: usize,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            groups: 1_000,
            series: 100_000,
            series_per_metric: 10_000,
        }
    }
}

/// Why a push was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The Pushgateway's rules refuse it.
    Inconsistent(String),
    /// It would pass a series limit; nothing of it is kept.
    SeriesLimit {
        /// What was passed.
        message: String,
        /// Its series, by metric: dropped.
        dropped: Vec<(String, usize)>,
    },
    /// It would open a group over the group limit; nothing of it is kept.
    GroupLimit {
        /// What was passed.
        message: String,
        /// Its series, by metric: dropped.
        dropped: Vec<(String, usize)>,
    },
}

/// What a push makes of its group: the group to keep (`None`: nothing changes, not even
/// the failure time), and whether the push was accepted.
pub type PushOutcome = (Option<Group>, Result<(), Refusal>);

/// Every pushed group.
#[derive(Debug, Default)]
pub struct PushedGroups {
    groups: BTreeMap<GroupKey, Group>,
    limits: PushLimits,
    /// The families of all groups, encoded, until a group changes.
    encoded: Option<Vec<Encoded>>,
}

impl PushedGroups {
    /// The groups kept from earlier runs.
    pub fn new(
        groups: impl IntoIterator<Item = (GroupKey, Group)>,
        limits: PushLimits,
    ) -> PushedGroups {
        PushedGroups {
            groups: groups.into_iter().collect(),
            limits,
            encoded: None,
        }
    }

    /// Every group, by key.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, &Group)> {
        self.groups.iter()
    }

    /// What group `key` becomes after a push at `now` (Unix seconds) of `families`, and
    /// whether the push was valid. An invalid push leaves the group's families and
    /// records the failure time, as the Pushgateway does; one that would open a group
    /// over the limit changes nothing. `owned` are the collector's own families, whose
    /// types a push may not contradict.
    pub fn after_push(
        &self,
        key: &GroupKey,
        push: Push,
        families: &[ParsedFamily],
        owned: &[(String, Kind)],
        now: f64,
    ) -> PushOutcome {
        let existing = self.groups.get(key);
        if existing.is_none() && self.groups.len() >= self.limits.groups {
            let refusal = Refusal::GroupLimit {
                message: format!(
                    "{} groups are pushed already, the most this collector keeps (push_groups_limit): delete one first",
                    self.groups.len()
                ),
                dropped: series_by_metric(families),
            };
            return (None, Err(refusal));
        }
        let mut group = existing.cloned().unwrap_or_default();
        let checked = self
            .validate(key, push, families, owned)
            .map_err(Refusal::Inconsistent)
            .and_then(|pushed| {
                if push == Push::Replace {
                    group.families.clear();
                }
                self.check_limits(key, &group.families, &pushed, families)?;
                Ok(pushed)
            });
        match checked {
            Ok(pushed) => {
                group.families.extend(pushed);
                group.push_time = now;
                (Some(group), Ok(()))
            }
            Err(refusal) => {
                // A refused push changes nothing but the failure time.
                let mut group = existing.cloned().unwrap_or_default();
                group.failure_time = now;
                (Some(group), Err(refusal))
            }
        }
    }

    /// Refuses a push whose families, with those the group keeps (`kept`), would pass a
    /// series limit beside the other groups.
    fn check_limits(
        &self,
        key: &GroupKey,
        kept: &BTreeMap<String, PushedFamily>,
        pushed: &BTreeMap<String, PushedFamily>,
        parsed: &[ParsedFamily],
    ) -> Result<(), Refusal> {
        let others = || self.groups.iter().filter(|(k, _)| *k != key);
        // The group after the push: what it keeps that is not pushed again, and the push.
        let after = || {
            kept.iter()
                .filter(|(name, _)| !pushed.contains_key(*name))
                .chain(pushed.iter())
        };
        let total: usize = others()
            .flat_map(|(_, group)| group.families.values())
            .chain(after().map(|(_, family)| family))
            .map(|family| family.samples.len())
            .sum();
        let refused = |message: String| Refusal::SeriesLimit {
            message,
            dropped: series_by_metric(parsed),
        };
        if total > self.limits.series {
            return Err(refused(format!(
                "the pushed groups would hold {total} series, over the {} this collector keeps (pushed_series_limit)",
                self.limits.series
            )));
        }
        for (name, family) in after() {
            let series = family.samples.len()
                + others()
                    .filter_map(|(_, group)| group.families.get(name))
                    .map(|f| f.samples.len())
                    .sum::<usize>();
            if series > self.limits.series_per_metric {
                return Err(refused(format!(
                    "metric {name:?} would have {series} series, over the {} one metric may have (series_limit)",
                    self.limits.series_per_metric
                )));
            }
        }
        Ok(())
    }

    /// Puts a group (after it was persisted), or removes it.
    pub fn put(&mut self, key: GroupKey, group: Option<Group>) {
        self.encoded = None;
        match group {
            Some(group) => self.groups.insert(key, group),
            None => self.groups.remove(&key),
        };
    }

    /// Checks a push against the Pushgateway's rules; returns the families to keep.
    fn validate(
        &self,
        key: &GroupKey,
        push: Push,
        families: &[ParsedFamily],
        owned: &[(String, Kind)],
    ) -> Result<BTreeMap<String, PushedFamily>, String> {
        let families: Vec<&ParsedFamily> = families
            .iter()
            .filter(|f| !OWN_FAMILIES.contains(&f.name.as_str()))
            .collect();
        // Every family name there will be, with its type: the other groups', those this
        // group keeps (a POST keeps what it does not push), and this push's.
        let mut kinds: BTreeMap<&str, Kind> = BTreeMap::new();
        for (other, group) in &self.groups {
            let kept = other != key || push == Push::Merge;
            for (name, family) in group.families.iter().filter(|_| kept) {
                let pushed_again = other == key && families.iter().any(|f| f.name == *name);
                if !pushed_again {
                    kinds.insert(name, family.kind);
                }
            }
        }
        for family in &families {
            if let Some(message) = suffix_collision(&family.name, family.kind, &kinds) {
                return Err(message);
            }
            kinds.insert(&family.name, family.kind);
        }
        let elsewhere = self.series_elsewhere(key);
        let mut out = BTreeMap::new();
        let mut seen = HashSet::new();
        for family in families {
            if let Some(other) = self.kind_elsewhere(&family.name, key)
                && other != family.kind
            {
                return Err(format!(
                    "collected metric {:?} is not a {}",
                    family.name,
                    other.name().to_uppercase()
                ));
            }
            if let Some((_, owned_kind)) = owned.iter().find(|(name, _)| *name == family.name)
                && *owned_kind != family.kind
            {
                return Err(format!(
                    "metric {:?} is the collector's own {}",
                    family.name,
                    owned_kind.name()
                ));
            }
            let mut samples = Vec::with_capacity(family.samples.len());
            for sample in &family.samples {
                if sample.timestamp.is_some() {
                    return Err("pushed metrics must not have timestamps".to_owned());
                }
                check_label_names(&sample.name, &sample.labels)?;
                let mut labels: Labels = sample
                    .labels
                    .iter()
                    .filter(|(k, _)| !key.iter().any(|(g, _)| g == k))
                    .cloned()
                    .collect();
                labels.extend(key.iter().cloned());
                let labels = with_instance(labels);
                if elsewhere.contains(&(sample.name.as_str(), &labels))
                    || !seen.insert((sample.name.clone(), labels.clone()))
                {
                    return Err(format!(
                        "collected metric {:?} was collected before with the same name and label values",
                        sample.name
                    ));
                }
                samples.push((sample.name.clone(), labels, sample.value));
            }
            out.insert(
                family.name.clone(),
                PushedFamily {
                    help: family.help.clone(),
                    kind: family.kind,
                    samples,
                },
            );
        }
        Ok(out)
    }

    /// The series of every group other than `except`: a push may not collect one again.
    fn series_elsewhere(&self, except: &GroupKey) -> HashSet<(&str, &Labels)> {
        self.groups
            .iter()
            .filter(|(key, _)| *key != except)
            .flat_map(|(_, group)| group.families.values())
            .flat_map(|family| family.samples.iter())
            .map(|(name, labels, _)| (name.as_str(), labels))
            .collect()
    }

    /// The type a family name has in any group other than `except`.
    fn kind_elsewhere(&self, name: &str, except: &GroupKey) -> Option<Kind> {
        self.groups
            .iter()
            .filter(|(key, _)| *key != except)
            .find_map(|(_, group)| group.families.get(name).map(|f| f.kind))
    }

    /// The pushed families, merged across groups by name, encoded for `/metrics` (again
    /// only after a group changed).
    pub fn encoded(&mut self) -> Vec<Encoded> {
        if let Some(encoded) = &self.encoded {
            return encoded.clone();
        }
        let encoded: Vec<Encoded> = self
            .families()
            .values_mut()
            .filter_map(Family::encoded)
            .collect();
        self.encoded = Some(encoded.clone());
        encoded
    }

    /// The pushed families as exposition families, merged across groups by name.
    fn families(&self) -> BTreeMap<String, Family> {
        let mut merged: BTreeMap<String, Family> = BTreeMap::new();
        let mut push_time = Family::new(
            "push_time_seconds",
            "Last Unix time when changing this group in the Pushgateway succeeded.",
            Kind::Gauge,
        );
        let mut failure_time = Family::new(
            "push_failure_time_seconds",
            "Last Unix time when changing this group in the Pushgateway failed.",
            Kind::Gauge,
        );
        for (key, group) in &self.groups {
            let labels = with_instance(key.clone());
            push_time.set(labels.clone(), group.push_time);
            failure_time.set(labels, group.failure_time);
            for (name, pushed) in &group.families {
                let family = merged
                    .entry(name.clone())
                    .or_insert_with(|| Family::new(name.clone(), pushed.help.clone(), pushed.kind));
                for (sample_name, labels, value) in &pushed.samples {
                    if matches!(pushed.kind, Kind::Histogram | Kind::Summary) {
                        let suffix = sample_name
                            .strip_prefix(name.as_str())
                            .unwrap_or("")
                            .to_owned();
                        let (base, extra): (Labels, Labels) = labels
                            .iter()
                            .cloned()
                            .partition(|(k, _)| k != "le" && k != "quantile");
                        let entry = family.series_mut(base, || Sample::Raw(Vec::new()));
                        if let Sample::Raw(samples) = entry {
                            samples.push((suffix, extra, *value));
                        }
                    } else {
                        family.set(labels.clone(), *value);
                    }
                }
            }
        }
        merged.insert(push_time.name.clone(), push_time);
        merged.insert(failure_time.name.clone(), failure_time);
        merged
    }
}

/// A pushed sample's label names: none reserved (`__…`), none twice.
fn check_label_names(sample: &str, labels: &Labels) -> Result<(), String> {
    let mut names = HashSet::new();
    for (name, _) in labels {
        if name.starts_with("__") {
            return Err(format!(
                "collected metric {sample:?} has a label with an invalid name: {name}"
            ));
        }
        if !names.insert(name) {
            return Err(format!(
                "collected metric {sample:?} has two or more labels with the same name: {name}"
            ));
        }
    }
    Ok(())
}

/// A family whose samples would read as another's: `x_count` beside a histogram or
/// summary `x`, or a histogram `x` beside a family `x_bucket`.
fn suffix_collision(name: &str, kind: Kind, kinds: &BTreeMap<&str, Kind>) -> Option<String> {
    for suffix in ["_count", "_sum", "_bucket"] {
        let Some(base) = name.strip_suffix(suffix) else {
            continue;
        };
        match kinds.get(base) {
            Some(Kind::Histogram) => {
                return Some(format!(
                    "collected metric named {name:?} collides with previously collected histogram named {base:?}"
                ));
            }
            Some(Kind::Summary) if suffix != "_bucket" => {
                return Some(format!(
                    "collected metric named {name:?} collides with previously collected summary named {base:?}"
                ));
            }
            _ => {}
        }
    }
    let reserved: &[&str] = match kind {
        Kind::Histogram => &["_count", "_sum", "_bucket"],
        Kind::Summary => &["_count", "_sum"],
        _ => &[],
    };
    reserved
        .iter()
        .map(|suffix| format!("{name}{suffix}"))
        .find(|taken| kinds.contains_key(taken.as_str()))
        .map(|taken| {
            format!(
                "collected histogram or summary named {name:?} collides with previously collected metric named {taken:?}"
            )
        })
}

/// A push's series, by metric.
fn series_by_metric(families: &[ParsedFamily]) -> Vec<(String, usize)> {
    families
        .iter()
        .filter(|family| !family.samples.is_empty())
        .map(|family| (family.name.clone(), family.samples.len()))
        .collect()
}

/// Adds `instance=""` when the key has no instance, as the Pushgateway does.
pub fn with_instance(mut labels: Labels) -> Labels {
    if !labels.iter().any(|(k, _)| k == "instance") {
        labels.push(("instance".to_owned(), String::new()));
    }
    labels.sort();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::parse::parse_text;

    fn key(pairs: &[(&str, &str)]) -> GroupKey {
        let mut key: GroupKey = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        key.sort();
        key
    }

    /// Pushes `text` to `at` with `PUT`, keeping the group when the push says so.
    fn push(groups: &mut PushedGroups, at: &GroupKey, text: &str) -> Result<(), Refusal> {
        let families = parse_text(text).unwrap();
        let (group, outcome) = groups.after_push(at, Push::Replace, &families, &[], 1.0);
        if let Some(group) = group {
            groups.put(at.clone(), Some(group));
        }
        outcome
    }

    fn inconsistent(outcome: Result<(), Refusal>) -> String {
        match outcome {
            Err(Refusal::Inconsistent(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_series_another_group_has_is_refused_not_replaced() {
        let mut groups = PushedGroups::default();
        let job = key(&[("job", "b")]);
        let with_instance = key(&[("job", "b"), ("instance", "i")]);
        push(&mut groups, &job, "c{instance=\"i\"} 1\n").unwrap();
        let message = inconsistent(push(&mut groups, &with_instance, "c 2\n"));
        assert!(message.contains("collected before"), "{message}");
        let encoded = groups.encoded();
        let c = encoded.iter().find(|f| f.name == "c").unwrap();
        let text = c.samples.concat();
        assert!(text.contains("} 1\n"), "the first stays: {text}");
        assert_eq!(
            groups.groups.get(&with_instance).map(|g| g.failure_time),
            Some(1.0),
            "the failed push is recorded, as the Pushgateway does"
        );
        // Pushing the same group again is a replacement, not a clash.
        push(&mut groups, &job, "c{instance=\"i\"} 3\n").unwrap();
    }

    #[test]
    fn reserved_labels_and_colliding_names_are_refused() {
        let mut groups = PushedGroups::default();
        let job = |name: &str| key(&[("job", name)]);
        let message = inconsistent(push(&mut groups, &job("a"), "m{__x=\"x\"} 1\n"));
        assert!(message.contains("invalid name: __x"), "{message}");
        push(
            &mut groups,
            &job("h"),
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        )
        .unwrap();
        for colliding in [
            "# TYPE h_count gauge\nh_count 1\n",
            "h_bucket 1\n",
            "h_sum 2\n",
        ] {
            let message = inconsistent(push(&mut groups, &job("other"), colliding));
            assert!(message.contains("collides"), "{colliding}: {message}");
        }
        push(&mut groups, &job("g"), "# TYPE s_count gauge\ns_count 1\n").unwrap();
        let message = inconsistent(push(
            &mut groups,
            &job("s"),
            "# TYPE s summary\ns_sum 1\ns_count 1\n",
        ));
        assert!(message.contains("collides"), "{message}");
    }

    #[test]
    fn pushes_over_a_limit_are_refused_whole_and_say_what_they_dropped() {
        let limits = PushLimits {
            groups: 2,
            series: 5,
            series_per_metric: 3,
        };
        let mut groups = PushedGroups::new(Vec::new(), limits);
        let job = |name: &str| key(&[("job", name)]);
        push(&mut groups, &job("a"), "x{n=\"1\"} 1\nx{n=\"2\"} 1\n").unwrap();
        match push(&mut groups, &job("b"), "x{n=\"1\"} 1\nx{n=\"2\"} 1\n") {
            Err(Refusal::SeriesLimit { message, dropped }) => {
                assert!(message.contains("series_limit"), "{message}");
                assert_eq!(dropped, vec![("x".to_owned(), 2)]);
            }
            other => panic!("{other:?}"),
        }
        match push(&mut groups, &job("b"), "y 1\nz 1\nw 1\nv 1\n") {
            Err(Refusal::SeriesLimit { message, .. }) => {
                assert!(message.contains("pushed_series_limit"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        push(&mut groups, &job("b"), "y 1\n").unwrap();
        match push(&mut groups, &job("c"), "y 1\n") {
            Err(Refusal::GroupLimit { dropped, .. }) => {
                assert_eq!(dropped, vec![("y".to_owned(), 1)])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(groups.groups().count(), 2, "no group opened over the limit");
        push(&mut groups, &job("a"), "x 9\n").unwrap();
    }
}
