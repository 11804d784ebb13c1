//! The models of a pool of hosts: the union of what every host lists, each model with the
//! hosts that serve it (`ttc models` and the view's model picker).

use serde::Serialize;

use super::{hosts, Backend, Failure, Resolved};
use crate::safe::redact_host;

/// One model of a pool and the hosts that list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolModel {
    /// The model's name, as its server lists it.
    pub name: String,
    /// The hosts that list it: 1-based positions in the pool.
    pub hosts: Vec<usize>,
}

/// What the hosts of a pool list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolListing {
    /// Every host, credentials hidden, in pool order (host 1 first).
    pub hosts: Vec<String>,
    /// The union of their models, in order of first appearance.
    pub models: Vec<PoolModel>,
    /// Hosts that could not list their models, with why (credentials hidden).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

/// The union of `lists` (one per host, in pool order): each name once, in order of first
/// appearance, with the 1-based hosts that list it. A host listing a name twice counts once.
pub fn union(lists: &[Vec<String>]) -> Vec<PoolModel> {
    let mut out: Vec<PoolModel> = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        for name in list {
            match out.iter_mut().find(|m| &m.name == name) {
                Some(m) if m.hosts.last() != Some(&(i + 1)) => m.hosts.push(i + 1),
                Some(_) => {}
                None => out.push(PoolModel { name: name.clone(), hosts: vec![i + 1] }),
            }
        }
    }
    out
}

/// Ask every host of the pool for its models, all at once. A host that fails is named in
/// [`PoolListing::failed`]; when every host fails, the first failure is the error.
pub async fn list(resolved: &Resolved, backend: Backend) -> Result<PoolListing, Failure> {
    let site = hosts::pool_site(resolved, backend, resolved.client()?)?;
    let sites: Vec<&super::Site> = std::iter::once(&site).chain(site.others.iter()).collect();
    let answers = futures::future::join_all(sites.iter().map(|s| s.list_models())).await;
    let mut listing = PoolListing::default();
    let mut lists = Vec::new();
    let mut first_error = None;
    for (i, (s, answer)) in sites.iter().zip(answers).enumerate() {
        let host = redact_host(s.host()).into_owned();
        match answer {
            Ok(models) => lists.push(models),
            Err(e) => {
                listing.failed.push(format!("host {} ({host}): {}", i + 1, crate::safe::redact(&e.message)));
                first_error.get_or_insert(e);
                lists.push(Vec::new());
            }
        }
        listing.hosts.push(host);
    }
    if listing.failed.len() == sites.len() {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    listing.models = union(&lists);
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_union_names_each_model_once_with_its_hosts() {
        let lists = [names(&["a", "b"]), names(&["b", "c", "c"]), Vec::new(), names(&["a", "模型"])];
        let u = union(&lists);
        let got: Vec<(&str, Vec<usize>)> = u.iter().map(|m| (m.name.as_str(), m.hosts.clone())).collect();
        assert_eq!(got, [("a", vec![1, 4]), ("b", vec![1, 2]), ("c", vec![2]), ("模型", vec![4])]);
        assert!(union(&[]).is_empty());
    }
}
