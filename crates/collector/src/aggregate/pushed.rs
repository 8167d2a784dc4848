//! The groups pushed through the Pushgateway API, with the Pushgateway's semantics:
//! what a push makes of a group (`PUT` replaces it, `POST` replaces the families it
//! pushes), the checks a push must pass against the other groups and the collector's own
//! families, and the families all groups add to `/metrics`.
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

/// Every pushed group.
#[derive(Debug, Default)]
pub struct PushedGroups {
    groups: BTreeMap<GroupKey, Group>,
    /// The families of all groups, encoded, until a group changes.
    encoded: Option<Vec<Encoded>>,
}

impl PushedGroups {
    /// The groups kept from earlier runs.
    pub fn new(groups: impl IntoIterator<Item = (GroupKey, Group)>) -> PushedGroups {
        PushedGroups {
            groups: groups.into_iter().collect(),
            encoded: None,
        }
    }

    /// Every group, by key.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupKey, &Group)> {
        self.groups.iter()
    }

    /// What group `key` becomes after a push at `now` (Unix seconds) of `families`, and
    /// whether the push was valid. An invalid push leaves the group's families and
    /// records the failure time, as the Pushgateway does. `owned` are the collector's
    /// own families, whose types a push may not contradict.
    pub fn after_push(
        &self,
        key: &GroupKey,
        push: Push,
        families: &[ParsedFamily],
        owned: &[(String, Kind)],
        now: f64,
    ) -> (Group, Result<(), String>) {
        let mut group = self.groups.get(key).cloned().unwrap_or_default();
        match self.validate(key, families, owned) {
            Ok(pushed) => {
                match push {
                    Push::Replace => group.families = pushed,
                    Push::Merge => group.families.extend(pushed),
                }
                group.push_time = now;
                (group, Ok(()))
            }
            Err(message) => {
                group.failure_time = now;
                (group, Err(message))
            }
        }
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
        families: &[ParsedFamily],
        owned: &[(String, Kind)],
    ) -> Result<BTreeMap<String, PushedFamily>, String> {
        let mut out = BTreeMap::new();
        let mut seen = HashSet::new();
        for family in families
            .iter()
            .filter(|f| !OWN_FAMILIES.contains(&f.name.as_str()))
        {
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
                let mut labels: Labels = sample
                    .labels
                    .iter()
                    .filter(|(k, _)| !key.iter().any(|(g, _)| g == k))
                    .cloned()
                    .collect();
                labels.extend(key.iter().cloned());
                let labels = with_instance(labels);
                if !seen.insert((sample.name.clone(), labels.clone())) {
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

/// Adds `instance=""` when the key has no instance, as the Pushgateway does.
pub fn with_instance(mut labels: Labels) -> Labels {
    if !labels.iter().any(|(k, _)| k == "instance") {
        labels.push(("instance".to_owned(), String::new()));
    }
    labels.sort();
    labels
}
